/* test_value_stream.c: the C reader and writer of Lua's messages
 * (wisp_value.h): VALUE.md's example both ways, a C answer read by Lua,
 * thousands of random Lua values packed by the Lua codec and written
 * again byte for byte by the C one, and refusal of malformed input and
 * of unbalanced writes. */
#include <lauxlib.h>
#include <lualib.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "testlib.h"
#include "value.h"
#include "wisp.h"

static lua_State *L;

/* Reads the message in data and writes every value again: the bytes, or
 * NULL (with the reader's error in err) when data is refused. */
static void *rewrite(const void *data, size_t size, size_t *out_size,
	char *err, size_t err_size)
{
	struct wisp_value_reader r;
	struct wisp_value_writer w;
	struct wisp_value v;
	int rc = wisp_value_read(&r, data, size) < 0 ? -1 : 1;
	wisp_value_begin(&w);
	while (rc == 1 && (rc = wisp_value_next(&r, &v)) == 1) {
		switch (v.type) {
		case WISP_VALUE_NIL: wisp_value_nil(&w); break;
		case WISP_VALUE_BOOLEAN: wisp_value_boolean(&w, v.as.boolean); break;
		case WISP_VALUE_INTEGER: wisp_value_integer(&w, v.as.integer); break;
		case WISP_VALUE_FLOAT: wisp_value_float(&w, v.as.number); break;
		case WISP_VALUE_STRING:
			wisp_value_string(&w, v.as.string.data, v.as.string.size);
			break;
		case WISP_VALUE_TABLE:
			wisp_value_table(&w, v.as.table.narr, v.as.table.nhash);
			break;
		}
	}
	void *out = wisp_value_end(&w, out_size);
	if (rc < 0) {
		snprintf(err, err_size, "%s", wisp_value_error(&r));
		wisp_free(out);
		return NULL;
	}
	return out;
}

static const uint8_t example[] = { /* "ping", 12345, {x = 1.5, y = 2} */
	0x03, 0x84, 0x70, 0x69, 0x6e, 0x67, 0xc4, 0x39, 0x30, 0xc9, 0x00, 0x02,
	0x81, 0x78, 0xc7, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xf8, 0x3f, 0x81,
	0x79, 0x02,
};

static void test_example_read(void)
{
	struct wisp_value_reader r;
	struct wisp_value v;
	CHECK_INT((int)wisp_value_read(&r, example, sizeof(example)), 3);
	CHECK_INT(wisp_value_next(&r, &v), 1);
	CHECK(v.type == WISP_VALUE_STRING && v.as.string.size == 4
		&& memcmp(v.as.string.data, "ping", 4) == 0 && v.depth == 0);
	CHECK_INT(wisp_value_next(&r, &v), 1);
	CHECK(v.type == WISP_VALUE_INTEGER && v.as.integer == 12345);
	CHECK_INT(wisp_value_next(&r, &v), 1);
	CHECK(v.type == WISP_VALUE_TABLE && v.as.table.narr == 0
		&& v.as.table.nhash == 2);
	CHECK_INT(wisp_value_next(&r, &v), 1); /* the key x, in the table */
	CHECK(v.type == WISP_VALUE_STRING && v.depth == 1);
	CHECK_INT(wisp_value_next(&r, &v), 1);
	CHECK(v.type == WISP_VALUE_FLOAT && v.as.number == 1.5);
	CHECK_INT(wisp_value_skip(&r), 1); /* y */
	CHECK_INT(wisp_value_next(&r, &v), 1);
	CHECK(v.type == WISP_VALUE_INTEGER && v.as.integer == 2 && v.depth == 1);
	CHECK_INT(wisp_value_next(&r, &v), 0);
	CHECK_INT(wisp_value_next(&r, &v), 0);
	/* a whole table skipped at once */
	wisp_value_read(&r, example, sizeof(example));
	CHECK_INT(wisp_value_skip(&r), 1);
	CHECK_INT(wisp_value_skip(&r), 1);
	CHECK_INT(wisp_value_skip(&r), 1);
	CHECK_INT(wisp_value_next(&r, &v), 0);
}

static void test_example_write(void)
{
	struct wisp_value_writer w;
	size_t size = 0;
	wisp_value_begin(&w);
	wisp_value_cstring(&w, "ping");
	wisp_value_integer(&w, 12345);
	wisp_value_table(&w, 0, 2);
	wisp_value_cstring(&w, "x");
	wisp_value_float(&w, 1.5);
	wisp_value_cstring(&w, "y");
	wisp_value_integer(&w, 2);
	uint8_t *out = wisp_value_end(&w, &size);
	CHECK(out != NULL && size == sizeof(example)
		&& memcmp(out, example, size) == 0);
	wisp_free(out);
	wisp_value_begin(&w); /* no values: the one byte 00 */
	out = wisp_value_end(&w, &size);
	CHECK(out != NULL && size == 1 && out[0] == 0);
	wisp_free(out);
}

/* What a C service answers, as a Lua caller gets it. */
static void test_lua_reads_c(void)
{
	struct wisp_value_writer w;
	size_t size;
	wisp_value_begin(&w);
	wisp_value_boolean(&w, 1);
	wisp_value_table(&w, 2, 1);
	wisp_value_integer(&w, -40000);
	wisp_value_nil(&w);
	wisp_value_cstring(&w, "name");
	wisp_value_string(&w, "a\0b", 3);
	wisp_value_integer(&w, INT64_MIN);
	void *out = wisp_value_end(&w, &size);
	CHECK(out != NULL);
	int n = wisp_value_unpack(L, out, size);
	wisp_free(out);
	CHECK_INT(n, 3);
	CHECK(lua_toboolean(L, -3));
	lua_rawgeti(L, -2, 1);
	CHECK(lua_tointeger(L, -1) == -40000);
	lua_getfield(L, -3, "name");
	size_t len;
	const char *s = lua_tolstring(L, -1, &len);
	CHECK(len == 3 && memcmp(s, "a\0b", 3) == 0);
	CHECK(lua_tointeger(L, -3) == INT64_MIN);
	lua_settop(L, 0);
}

/* Random values, nested, of every kind and size: Lua packs them, the C
 * reader and writer must give back the very same bytes (both write the
 * shortest forms, in the order read). */
static const char random_values[] =
	"local depth_max = ...\n"
	"local function value(depth)\n"
	"  local k = math.random(depth < depth_max and 9 or 8)\n"
	"  if k == 1 then return math.random(-200, 200)\n"
	"  elseif k == 2 then return math.random(math.mininteger, math.maxinteger)\n"
	"  elseif k == 3 then return math.random() * 1e6 - 5e5\n"
	"  elseif k == 4 then return string.rep('s', math.random(0, 40))\n"
	"  elseif k == 5 then return string.rep('L', math.random(100, 300))\n"
	"  elseif k == 6 then return math.random(2) == 1\n"
	"  elseif k == 7 then return math.random(-70000, 70000)\n"
	"  elseif k == 8 then return (math.random(2) == 1) and 0.0/0.0 or -0.0\n"
	"  end\n"
	"  local t = {}\n"
	"  for i = 1, math.random(0, 4) do t[i] = value(depth + 1) end\n"
	"  for i = 1, math.random(0, 3) do\n"
	"    t['k' .. math.random(1000)] = value(depth + 1)\n"
	"  end\n"
	"  if math.random(5) == 1 then t[{}] = true end\n"
	"  return t\n"
	"end\n"
	"local out = {}\n"
	"for i = 1, math.random(0, 4) do out[i] = value(0) end\n"
	"return table.unpack(out)\n";

static void test_random_rewrite(void)
{
	CHECK_INT(luaL_loadstring(L, "math.randomseed(20261203)"), LUA_OK);
	lua_call(L, 0, 0);
	int same = 0;
	for (int i = 0; i < 3000; i++) {
		CHECK_INT(luaL_loadstring(L, random_values), LUA_OK);
		lua_pushinteger(L, i % 10 == 0 ? 30 : 4);
		lua_call(L, 1, LUA_MULTRET);
		size_t size, out_size;
		void *packed = wisp_value_pack(L, 1, lua_gettop(L), &size);
		lua_settop(L, 0);
		char err[128];
		void *out = rewrite(packed, size, &out_size, err, sizeof(err));
		if (out && out_size == size && memcmp(out, packed, size) == 0)
			same++;
		else
			fprintf(stderr, "random message %d not rewritten the same: %s\n",
				i, out ? "other bytes" : err);
		wisp_free(out);
		wisp_free(packed);
	}
	CHECK_INT(same, 3000);
}

/* Malformed input: the error, its offset, and no value after it. */
static void refused(const char *what, const void *data, size_t size,
	const char *want)
{
	char err[128] = "";
	size_t out_size;
	void *out = rewrite(data, size, &out_size, err, sizeof(err));
	if (out != NULL || strstr(err, want) == NULL) {
		fprintf(stderr, "%s: got \"%s\", want \"%s\"\n", what,
			out ? "accepted" : err, want);
		test_failures++;
	}
	wisp_free(out);
}

static void test_refused(void)
{
	refused("empty", "", 0, "truncated value count at byte 0");
	refused("count past the end", "\x05\x01", 2,
		"value count 5 past the end at byte 0");
	refused("bad tag", "\x01\xa0", 2, "bad tag 0xa0 at byte 1");
	refused("truncated integer", "\x01\xc5\x01\x02", 4,
		"truncated integer at byte 1");
	refused("string past the end", "\x01\xc8\x10xy", 5,
		"string of 16 bytes past the end at byte 1");
	refused("table past the end", "\x01\xc9\x05\x00\x01", 5,
		"table of 5+0 entries past the end at byte 1");
	refused("nil key", "\x01\xc9\x00\x01\xc0\x01", 6, "nil table key at byte 4");
	refused("NaN key", "\x01\xc9\x00\x01\xc7\x00\x00\x00\x00\x00\x00\xf8\x7f"
		"\x01", 14, "NaN table key at byte 4");
	refused("trailing garbage", "\x01\x01\x02", 3,
		"trailing garbage at byte 2");
	refused("long varint", "\x81\x80\x80\x80\x80\x80\x80\x80\x80\x02", 10,
		"value count longer than 64 bits at byte 0");
	uint8_t deep[1 + 3 * 101 + 1];
	deep[0] = 1;
	for (int i = 0; i < 101; i++)
		memcpy(deep + 1 + 3 * i, "\xc9\x01\x00", 3);
	deep[sizeof(deep) - 1] = 0;
	refused("too deep", deep, sizeof(deep),
		"tables nested deeper than 100 at byte 301");
	refused("a value owed", "\x02\xc9\x01\x00\x01", 5,
		"table of 1+0 entries past the end at byte 1");
}

static void test_unbalanced_writes(void)
{
	struct wisp_value_writer w;
	size_t size;
	wisp_value_begin(&w);
	wisp_value_table(&w, 2, 0);
	wisp_value_integer(&w, 1);
	CHECK(wisp_value_end(&w, &size) == NULL); /* one item short */
	wisp_value_begin(&w);
	for (int i = 0; i <= WISP_VALUE_DEPTH_MAX; i++)
		wisp_value_table(&w, 1, 0);
	wisp_value_nil(&w);
	CHECK(wisp_value_end(&w, &size) == NULL); /* too deep */
	wisp_value_begin(&w); /* the limit itself is fine */
	for (int i = 0; i < WISP_VALUE_DEPTH_MAX; i++)
		wisp_value_table(&w, 1, 0);
	wisp_value_nil(&w);
	void *out = wisp_value_end(&w, &size);
	CHECK(out != NULL);
	CHECK(out && wisp_value_unpack(L, out, size) == 1);
	lua_settop(L, 0);
	wisp_free(out);
}

int main(void)
{
	L = luaL_newstate();
	luaL_openlibs(L);
	RUN(test_example_read);
	RUN(test_example_write);
	RUN(test_lua_reads_c);
	RUN(test_random_rewrite);
	RUN(test_refused);
	RUN(test_unbalanced_writes);
	lua_close(L);
	return TEST_END();
}
