/* test_value.c: the Lua value serializer: round trips of every type and
 * boundary, the exact bytes of VALUE.md, and refusal of bad values and of
 * malformed, truncated or forged input. */
#include <lauxlib.h>
#include <lualib.h>
#include <stdint.h>
#include <stdlib.h>
#include "testlib.h"
#include "wisp.h"
#include "value.h"

static lua_State *L;

/* Lua's allocator, wrapped to total what a piece of code allocates. */
static lua_Alloc lua_alloc;
static size_t allocated;

static void *counting_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
	if (ptr == NULL)
		allocated += nsize;
	else if (nsize > osize)
		allocated += nsize - osize;
	return lua_alloc(ud, ptr, osize, nsize);
}

/* pack(...) returns the packed bytes as a string. */
static int l_pack(lua_State *L)
{
	size_t sz;
	void *buf = wisp_value_pack(L, 1, lua_gettop(L), &sz);
	lua_pushlstring(L, buf, sz);
	wisp_free(buf);
	return 1;
}

/* unpack(s) returns the values packed in s. */
static int l_unpack(lua_State *L)
{
	size_t sz;
	const char *s = luaL_checklstring(L, 1, &sz);
	return wisp_value_unpack(L, s, sz);
}

/* Helpers for the Lua parts. eq compares deeply and strictly: subtypes,
 * NaN equal to NaN, -0.0 apart from 0.0, table keys matched by content.
 * same(...) asserts the arguments survive a round trip and returns the
 * packed bytes. fails(msg, f, ...) asserts f(...) raises msg. */
static const char helpers[] =
	"function eq(a, b)\n"
	"  if type(a) ~= type(b) then return false end\n"
	"  if type(a) == 'number' then\n"
	"    if math.type(a) ~= math.type(b) then return false end\n"
	"    if a ~= a then return b ~= b end\n"
	"    return a == b and (a ~= 0 or 1/a == 1/b)\n"
	"  end\n"
	"  if type(a) ~= 'table' then return a == b end\n"
	"  local n, used = 0, {}\n"
	"  for k, v in pairs(a) do\n"
	"    n = n + 1\n"
	"    if type(k) ~= 'table' then\n"
	"      if not eq(v, rawget(b, k)) then return false end\n"
	"    else\n"
	"      local found\n"
	"      for kb, vb in pairs(b) do\n"
	"        if not used[kb] and eq(k, kb) and eq(v, vb) then\n"
	"          used[kb], found = true, true\n"
	"          break\n"
	"        end\n"
	"      end\n"
	"      if not found then return false end\n"
	"    end\n"
	"  end\n"
	"  for _ in pairs(b) do n = n - 1 end\n"
	"  return n == 0\n"
	"end\n"
	"function same(...)\n"
	"  local s = pack(...)\n"
	"  local r = table.pack(unpack(s))\n"
	"  assert(r.n == select('#', ...), 'got ' .. r.n .. ' values')\n"
	"  for i = 1, r.n do\n"
	"    assert(eq(select(i, ...), r[i]), 'value ' .. i .. ' differs')\n"
	"  end\n"
	"  return s\n"
	"end\n"
	"function fails(msg, f, ...)\n"
	"  local ok, err = pcall(f, ...)\n"
	"  assert(not ok, 'no error, wanted ' .. msg)\n"
	"  assert(err == msg, 'error is \"' .. tostring(err) .. '\"')\n"
	"end\n"
	"function nest(depth)\n"
	"  local t = {}\n"
	"  for _ = 2, depth do t = {t} end\n"
	"  return t\n"
	"end\n";

/* A value with every type and encoding in it; also the fuzz seed. */
static const char rich[] =
	"return nil, true, false, 0, -1, 127, -33, 300, 70000, math.maxinteger,"
	" math.mininteger, 1.5, -0.0, 1/0, 0/0, '', 'short', string.rep('x', 200),"
	" {1, 2, {3, {4}}, nil, 5, a = 'b', [true] = false, [1.5] = {}, [{}] = 1,"
	"  [-7] = 'neg', ['with space'] = 'a\\0b'},"
	" {[string.rep('k', 40)] = string.rep('v', 300)}";

/* Runs Lua code; an error fails the test calling it. */
#define LUA(code) run_lua(__func__, code)
static void run_lua(const char *name, const char *code)
{
	lua_settop(L, 0);
	if (luaL_loadbuffer(L, code, strlen(code), name) || lua_pcall(L, 0, 0, 0)) {
		fprintf(stderr, "%s: %s\n", name, lua_tostring(L, -1));
		test_failures++;
	}
	lua_settop(L, 0);
}

/* Packs the values code returns; the caller frees the result. */
static unsigned char *pack_code(const char *code, size_t *sz)
{
	lua_settop(L, 0);
	if (luaL_dostring(L, code)) {
		fprintf(stderr, "%s\n", lua_tostring(L, -1));
		abort();
	}
	unsigned char *buf = wisp_value_pack(L, 1, lua_gettop(L), sz);
	lua_settop(L, 0);
	return buf;
}

static int packs_to(const char *code, const char *want, size_t want_sz)
{
	size_t sz;
	unsigned char *buf = pack_code(code, &sz);
	int ok = sz == want_sz && memcmp(buf, want, sz) == 0;
	if (!ok) {
		fprintf(stderr, "%s packs to", code);
		for (size_t i = 0; i < sz; i++)
			fprintf(stderr, " %02x", buf[i]);
		fprintf(stderr, "\n");
	}
	wisp_free(buf);
	return ok;
}
#define PACKS_TO(code, bytes) CHECK(packs_to(code, bytes, sizeof(bytes) - 1))

/* Unpacks data in a protected call: the number of values, or -1 with the
 * error message in err. */
static int try_unpack(const void *data, size_t sz, char *err, size_t errsz)
{
	lua_settop(L, 0);
	lua_pushcfunction(L, l_unpack);
	lua_pushlstring(L, data, sz);
	if (lua_pcall(L, 1, LUA_MULTRET, 0) != LUA_OK) {
		snprintf(err, errsz, "%s", lua_tostring(L, -1));
		lua_settop(L, 0);
		return -1;
	}
	int n = lua_gettop(L);
	lua_settop(L, 0);
	return n;
}

static void unpack_fails(const void *data, size_t sz, const char *want)
{
	char err[256] = "";
	int n = try_unpack(data, sz, err, sizeof err);
	CHECK_INT(n, -1);
	CHECK_STR(err, want);
}
#define UNPACK_FAILS(bytes, want) unpack_fails(bytes, sizeof(bytes) - 1, want)

static void test_scalars(void)
{
	LUA("same(nil) same(true) same(false)\n"
		"same(0) same(1) same(-1) same(math.maxinteger) same(math.mininteger)\n"
		"same(1.0) same(-1.0) same(0.0) same(-0.0) same(0.1) same(-1e300)\n"
		"same(1/0) same(-1/0) same(0/0) same(2^63) same(math.pi)\n"
		"same(4.9e-324) same(math.maxinteger + 0.0)\n"
		"local v = unpack(pack(-0.0)) assert(1/v == -1/0)\n"
		"v = unpack(pack(0/0)) assert(v ~= v and math.type(v) == 'float')\n"
		"assert(math.type(unpack(pack(1))) == 'integer')\n"
		"assert(math.type(unpack(pack(1.0))) == 'float')\n"
		"assert(#pack(1) == 2 and #pack(1.0) == 10)\n");
}

/* Every integer size boundary: the value, then its packed size. */
static void test_integer_sizes(void)
{
	LUA("local cases = {\n"
		"  {0, 2}, {127, 2}, {128, 4}, {255, 4}, {-1, 2}, {-32, 2},\n"
		"  {-33, 3}, {-128, 3}, {-129, 4}, {32767, 4}, {32768, 6},\n"
		"  {-32768, 4}, {-32769, 6}, {2147483647, 6}, {2147483648, 10},\n"
		"  {-2147483648, 6}, {-2147483649, 10},\n"
		"  {math.maxinteger, 10}, {math.mininteger, 10}}\n"
		"for _, c in ipairs(cases) do\n"
		"  local s = same(c[1])\n"
		"  assert(#s == c[2], c[1] .. ' packs to ' .. #s .. ' bytes')\n"
		"  assert(math.type(unpack(s)) == 'integer')\n"
		"end\n");
}

static void test_strings(void)
{
	LUA("assert(#same('') == 2)\n"
		"assert(#same('\\0') == 3)\n"
		"assert(#same('a\\0b\\0') == 6)\n"
		"assert(#same(string.rep('s', 31)) == 33)\n"
		"assert(#same(string.rep('s', 32)) == 35)\n"
		"assert(#same(string.rep('s', 127)) == 130)\n"
		"assert(#same(string.rep('s', 128)) == 132)\n"
		"local all = {} for i = 0, 255 do all[#all + 1] = string.char(i) end\n"
		"same(table.concat(all))\n"
		"local mb = string.rep('ab\\0\\255', 262144)\n"
		"assert(#same(mb) == 1 + 1 + 3 + 1048576)\n");
}

static void test_tables(void)
{
	LUA("assert(#same({}) == 4)\n"
		"same({1, 2, 3}) same({'a', 'b', {}, {{}}})\n"
		"same({x = 1, y = 2.5, name = 'n'})\n"
		"same({1, 2, x = 3, [10] = 4, [-1] = 5, [0] = 6})\n"
		"same({1, nil, 3}) same({nil, nil, 3}) same({[2] = 2, [3] = 3})\n"
		"local t = unpack(pack({1, nil, 3})) assert(t[1] == 1 and t[2] == nil and t[3] == 3)\n"
		"same({a = {b = {c = {1, 2, {d = 'e'}}}}})\n"
		"local shared = {1, 2}\n"
		"local dag = same({shared, shared, k = shared})\n"
		"local d = unpack(dag) assert(eq(d[1], d[2]) and d[1] ~= d[2])\n"
		"local deep = nest(50) deep[1][1][1].x = 'bottom'\n"
		"same(deep)\n"
		"local t = unpack(pack(nest(50))) local depth = 1\n"
		"while next(t) do t = t[1] depth = depth + 1 end assert(depth == 50)\n"
		"local m = setmetatable({1}, {__index = function() return 9 end,\n"
		"  __len = function() return 5 end, __pairs = error})\n"
		"local r = unpack(pack(m)) assert(getmetatable(r) == nil and #r == 1)\n");
}

/* Hash parts of 128 entries and more need a wider count, written after the
 * table body: nest such tables so the body moves at several levels. */
static void test_big_tables(void)
{
	LUA("local function big(n, inner)\n"
		"  local t = {}\n"
		"  for i = 1, n do t['k' .. i] = inner or i end\n"
		"  return t\n"
		"end\n"
		"same(big(127)) same(big(128)) same(big(20000))\n"
		"same(big(200, big(300))) same({big(150), {big(140)}, x = big(130)})\n"
		"local arr = {} for i = 1, 100000 do arr[i] = i * 3 end\n"
		"same(arr)\n"
		"arr.x = big(1000) same(arr)\n");
}

static void test_keys(void)
{
	LUA("local t = {[true] = 1, [false] = 2, [0] = 3, [-1] = 4,\n"
		"  [math.maxinteger] = 5, [math.mininteger] = 6, [1.5] = 7,\n"
		"  [-0.5] = 8, [1/0] = 9, [-1/0] = 10, [''] = 11, ['a\\0b'] = 12,\n"
		"  [{1, 2}] = 13, [{x = {}}] = 14, [2^53] = 15}\n"
		"same(t)\n"
		"local r = unpack(pack(t))\n"
		"assert(r[1.5] == 7 and r[1/0] == 9 and r['a\\0b'] == 12 and r[2^53] == 15)\n"
		"local tk = 0\n"
		"for k, v in pairs(r) do if type(k) == 'table' then tk = tk + 1 end end\n"
		"assert(tk == 2)\n");
}

static void test_multiple_values(void)
{
	LUA("same() same(nil) same(nil, nil)\n"
		"same(1, nil, 2) same(nil, 1, nil, nil) same('a', {}, nil, 0/0, nil)\n"
		"assert(select('#', unpack(pack(nil, 1, nil, nil))) == 4)\n"
		"assert(select('#', unpack(pack())) == 0)\n");
}

/* The byte layouts VALUE.md documents. */
static void test_exact_bytes(void)
{
	PACKS_TO("return", "\x00");
	PACKS_TO("return nil, false, true", "\x03\xc0\xc1\xc2");
	PACKS_TO("return 0, 127, -1, -32, -33, 128, -129",
		"\x07\x00\x7f\xff\xe0\xc3\xdf\xc4\x80\x00\xc4\x7f\xff");
	PACKS_TO("return 70000, math.mininteger",
		"\x02\xc5\x70\x11\x01\x00\xc6\x00\x00\x00\x00\x00\x00\x00\x80");
	PACKS_TO("return 1.0, -0.0",
		"\x02\xc7\x00\x00\x00\x00\x00\x00\xf0\x3f"
		"\xc7\x00\x00\x00\x00\x00\x00\x00\x80");
	PACKS_TO("return 'ab', ''", "\x02\x82" "ab" "\x80");
	PACKS_TO("return string.rep('a', 32)",
		"\x01\xc8\x20" "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
	PACKS_TO("return {}, {{}}", "\x02\xc9\x00\x00\xc9\x01\x00\xc9\x00\x00");
	PACKS_TO("return {7, x = true}", "\x01\xc9\x01\x01\x07\x81x\xc2");
	/* The example message; its two keys may come in either order. */
	size_t sz;
	unsigned char *buf = pack_code("return 'ping', 12345, {x = 1.5, y = 2}", &sz);
	static const char head[] = "\x03\x84ping\xc4\x39\x30\xc9\x00\x02";
	static const char x[] = "\x81x\xc7\x00\x00\x00\x00\x00\x00\xf8\x3f";
	static const char y[] = "\x81y\x02";
	CHECK_INT(sz, 26);
	CHECK(memcmp(buf, head, 12) == 0);
	CHECK((memcmp(buf + 12, x, 11) == 0 && memcmp(buf + 23, y, 3) == 0)
		|| (memcmp(buf + 12, y, 3) == 0 && memcmp(buf + 15, x, 11) == 0));
	wisp_free(buf);
	/* 200 hash entries: a two-byte count, patched in after the body. */
	buf = pack_code("local t = {} for i = 1, 200 do t[i + 0.5] = i end return t", &sz);
	CHECK(memcmp(buf, "\x01\xc9\x00\xc8\x01\xc7", 6) == 0);
	wisp_free(buf);
}

static void test_pack_range(void)
{
	size_t sz;
	lua_settop(L, 0);
	unsigned char *buf = wisp_value_pack(L, 1, 0, &sz);
	CHECK_INT(sz, 1);
	CHECK_INT(buf[0], 0);
	wisp_free(buf);
	lua_pushinteger(L, 1);
	lua_pushinteger(L, 2);
	lua_pushinteger(L, 3);
	buf = wisp_value_pack(L, -2, -1, &sz);
	CHECK(sz == 3 && memcmp(buf, "\x02\x02\x03", 3) == 0);
	wisp_free(buf);
	buf = wisp_value_pack(L, 3, 2, &sz);
	CHECK(sz == 1 && buf[0] == 0);
	wisp_free(buf);
	lua_settop(L, 0);
}

static void test_pack_errors(void)
{
	LUA("local t = {} t.self = t\n"
		"fails('cannot serialize a table cycle (in argument 1, at self)', pack, t)\n"
		"local a = {b = {c = {}}} a.b.c[1] = a\n"
		"fails('cannot serialize a table cycle (in argument 2, at b.c[1])', pack, 1, a)\n"
		"local k = {} k[k] = true\n"
		"fails('cannot serialize a table cycle (in argument 1)', pack, k)\n"
		"fails('cannot serialize a function (in argument 2, at cb)', pack, 1, {cb = print})\n"
		"fails('cannot serialize a function (in argument 3)', pack, 1, 2, print)\n"
		"fails('cannot serialize a function (in argument 1, at a.list[2])',\n"
		"  pack, {a = {list = {1, print}}})\n"
		"fails('cannot serialize a function (in argument 1, at [\"odd key\"])',\n"
		"  pack, {['odd key'] = print})\n"
		"fails('cannot serialize a function (in argument 1, at [3][true])',\n"
		"  pack, {1, 2, {[true] = print}})\n"
		"fails('cannot serialize a function (in argument 1, at [7][1.5][\"\"][\"1a\"][string][table][false])',\n"
		"  pack, {[7] = {[1.5] = {[''] = {['1a'] = {['\\1'] = {[{}] = {[false] = print}}}}}}})\n"
		"fails('cannot serialize a function key (in argument 1, at a)',\n"
		"  pack, {a = {[print] = 1}})\n"
		"fails('cannot serialize a function (in argument 1, at {key}.f)',\n"
		"  pack, {[{f = print}] = 1})\n"
		"fails('cannot serialize a thread (in argument 1, at co)',\n"
		"  pack, {co = coroutine.create(print)})\n"
		"fails('cannot serialize a userdata (in argument 1)', pack, io.stdout)\n"
		"-- raised after the buffer moved to the heap: must not leak it\n"
		"fails('cannot serialize a function (in argument 2)', pack,\n"
		"  string.rep('x', 100000), print)\n"
		"local shared = {} same({shared, {shared}})\n");
}

static void test_depth_limit(void)
{
	LUA("same(nest(100))\n"
		"local msg = 'cannot serialize tables nested deeper than 100 (in argument 1, at '\n"
		"  .. string.rep('[1]', 100) .. ')'\n"
		"fails(msg, pack, nest(101))\n");
	/* Forged input: tables one inside the other, 100 then 101 deep. */
	static unsigned char data[2 + 101 * 3];
	for (int deep = 100; deep <= 101; deep++) {
		size_t n = 0;
		data[n++] = 1;
		for (int i = 1; i <= deep; i++) {
			data[n++] = 0xc9;
			data[n++] = i < deep;
			data[n++] = 0;
		}
		char err[256] = "";
		int got = try_unpack(data, n, err, sizeof err);
		if (deep == 100) {
			CHECK_INT(got, 1);
		} else {
			CHECK_INT(got, -1);
			CHECK_STR(err, "invalid packed value: tables nested deeper than 100 at byte 301");
		}
	}
}

/* Every proper prefix of a valid encoding is refused, as is an extra byte. */
static void test_truncations(void)
{
	size_t sz;
	unsigned char *buf = pack_code(rich, &sz);
	unsigned char *copy = malloc(sz + 1);
	char err[256];
	CHECK_INT(try_unpack(buf, sz, err, sizeof err), 20);
	for (size_t n = 0; n < sz; n++) {
		memcpy(copy, buf, n); /* a copy of its own, for ASan to bound */
		err[0] = 0;
		if (try_unpack(copy, n, err, sizeof err) != -1) {
			fprintf(stderr, "prefix of %zu bytes of %zu unpacks\n", n, sz);
			test_failures++;
		}
		CHECK(strstr(err, "invalid packed value: ") == err && strstr(err, " at byte "));
	}
	memcpy(copy, buf, sz);
	copy[sz] = 0;
	CHECK_INT(try_unpack(copy, sz + 1, err, sizeof err), -1);
	CHECK(strstr(err, "trailing garbage") != NULL);
	free(copy);
	wisp_free(buf);
}

static void test_malformed(void)
{
	UNPACK_FAILS("", "invalid packed value: truncated value count at byte 0");
	UNPACK_FAILS("\x01", "invalid packed value: value count 1 past the end at byte 0");
	UNPACK_FAILS("\x02\x81" "a", "invalid packed value: truncated value at byte 3");
	UNPACK_FAILS("\x01\xa0", "invalid packed value: bad tag 0xa0 at byte 1");
	UNPACK_FAILS("\x01\xbf", "invalid packed value: bad tag 0xbf at byte 1");
	UNPACK_FAILS("\x02\x00\xca", "invalid packed value: bad tag 0xca at byte 2");
	UNPACK_FAILS("\x01\xdf", "invalid packed value: bad tag 0xdf at byte 1");
	UNPACK_FAILS("\x01\x00\x00", "invalid packed value: trailing garbage at byte 2");
	UNPACK_FAILS("\x01\xc5\x01\x02\x03", "invalid packed value: truncated integer at byte 1");
	UNPACK_FAILS("\x01\xc7\x00", "invalid packed value: truncated float at byte 1");
	UNPACK_FAILS("\x01\x84pi", "invalid packed value: string of 4 bytes past the end at byte 1");
	UNPACK_FAILS("\x01\xc8\x80", "invalid packed value: truncated string length at byte 2");
	UNPACK_FAILS("\x01\xc8\xff\xff\xff\xff\xff\xff\xff\xff\xff\x02",
		"invalid packed value: string length longer than 64 bits at byte 2");
	UNPACK_FAILS("\x01\xc9\x00\x01\xc0\x00",
		"invalid packed value: nil table key at byte 4");
	UNPACK_FAILS("\x01\xc9\x00\x01\xc7\x00\x00\x00\x00\x00\x00\xf8\x7f\x00",
		"invalid packed value: NaN table key at byte 4");
	UNPACK_FAILS("\x01\xc9\x03\x00\x00\x00",
		"invalid packed value: table of 3+0 entries past the end at byte 1");
	UNPACK_FAILS("\x01\xc9\x00\x02\x00\x00\x00",
		"invalid packed value: table of 0+2 entries past the end at byte 1");
	/* Non-minimal forms are accepted. */
	char err[256];
	CHECK_INT(try_unpack("\x80\x00", 2, err, sizeof err), 0);
	CHECK_INT(try_unpack("\x01\xc6\x05\x00\x00\x00\x00\x00\x00\x00", 10, err, sizeof err), 1);
	CHECK_INT(try_unpack("\x01\xc8\x81\x00x", 5, err, sizeof err), 1);
}

/* Forged counts must fail before Lua allocates by them. */
static void test_forged_lengths(void)
{
	void *ud;
	lua_alloc = lua_getallocf(L, &ud);
	lua_setallocf(L, counting_alloc, ud);
	allocated = 0;
	UNPACK_FAILS("\x01\xc8\xff\xff\xff\xff\xff\x1f" "abc",
		"invalid packed value: string of 1099511627775 bytes past the end at byte 1");
	UNPACK_FAILS("\x01\xc9\xff\xff\xff\xff\x07\x00\x00",
		"invalid packed value: table of 2147483647+0 entries past the end at byte 1");
	UNPACK_FAILS("\xff\xff\xff\xff\xff\xff\xff\xff\x7f\xc0",
		"invalid packed value: value count 9223372036854775807 past the end at byte 0");
	CHECK(allocated < 16384);
	/* Tables nested inside one another, each claiming all the bytes left. */
	size_t n = 0, sz = 100000;
	unsigned char *data = calloc(sz, 1);
	data[n++] = 1;
	for (int i = 0; i < 90; i++) {
		size_t room = sz - n - 5;
		data[n++] = 0xc9;
		data[n++] = (unsigned char)(room | 0x80);
		data[n++] = (unsigned char)(room >> 7 | 0x80);
		data[n++] = (unsigned char)(room >> 14);
		data[n++] = 0;
	}
	allocated = 0;
	char err[256] = "";
	CHECK_INT(try_unpack(data, sz, err, sizeof err), -1);
	CHECK_STR(err, "invalid packed value: table of 99989+0 entries past the end at byte 6");
	CHECK(allocated < 20 * sz); /* the outer table's array: 16 bytes a slot */
	/* A million values is more than a Lua stack holds. */
	free(data);
	sz = 1100000;
	data = malloc(sz + 3);
	memset(data, 0xc0, sz + 3);
	data[0] = (unsigned char)(sz | 0x80);
	data[1] = (unsigned char)(sz >> 7 | 0x80);
	data[2] = (unsigned char)(sz >> 14);
	unpack_fails(data, sz + 3, "invalid packed value: too many values (1100000) at byte 0");
	free(data);
	lua_setallocf(L, lua_alloc, ud);
}

int main(void)
{
	L = luaL_newstate();
	luaL_openlibs(L);
	lua_register(L, "pack", l_pack);
	lua_register(L, "unpack", l_unpack);
	if (luaL_dostring(L, helpers)) {
		fprintf(stderr, "%s\n", lua_tostring(L, -1));
		return 1;
	}
	RUN(test_scalars);
	RUN(test_integer_sizes);
	RUN(test_strings);
	RUN(test_tables);
	RUN(test_big_tables);
	RUN(test_keys);
	RUN(test_multiple_values);
	RUN(test_exact_bytes);
	RUN(test_pack_range);
	RUN(test_pack_errors);
	RUN(test_depth_limit);
	RUN(test_truncations);
	RUN(test_malformed);
	RUN(test_forged_lengths);
	lua_close(L);
	return TEST_END();
}
