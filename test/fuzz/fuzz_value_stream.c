/* fuzz_value_stream.c: libFuzzer target for the C reader and writer of
 * Lua's messages (runtime/value_stream.c), checked against the Lua
 * decoder: both must accept or refuse the same input. What is accepted
 * is written again by the C writer; that must decode in Lua to as many
 * values, and reading and writing it once more must give the same bytes.
 * Built over proto/'s allocator, without the rest of the runtime, so
 * that libFuzzer's coverage sees value_stream.c itself. */
#include <lauxlib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "proto_alloc.h"
#include "value.h"
#include "wisp.h"

void *wisp_malloc(size_t sz) { return wisp_proto_malloc(sz); }
void *wisp_realloc(void *p, size_t sz) { return wisp_proto_realloc(p, sz); }
void wisp_free(void *p) { wisp_proto_free(p); }

static _Noreturn void die(const char *what)
{
	fprintf(stderr, "fuzz_value_stream: %s\n", what);
	abort();
}

static void write_value(struct wisp_value_writer *w,
	const struct wisp_value *v)
{
	switch (v->type) {
	case WISP_VALUE_NIL: wisp_value_nil(w); break;
	case WISP_VALUE_BOOLEAN: wisp_value_boolean(w, v->as.boolean); break;
	case WISP_VALUE_INTEGER: wisp_value_integer(w, v->as.integer); break;
	case WISP_VALUE_FLOAT: wisp_value_float(w, v->as.number); break;
	case WISP_VALUE_STRING:
		wisp_value_string(w, v->as.string.data, v->as.string.size);
		break;
	case WISP_VALUE_TABLE:
		wisp_value_table(w, v->as.table.narr, v->as.table.nhash);
		break;
	}
}

/* The message read and written again, or NULL when it is refused. */
static void *rewrite(const void *data, size_t size, size_t *out_size,
	int64_t *count)
{
	struct wisp_value_reader r;
	struct wisp_value_writer w;
	struct wisp_value v;
	*count = wisp_value_read(&r, data, size);
	int rc = *count < 0 ? -1 : 1;
	wisp_value_begin(&w);
	while (rc == 1 && (rc = wisp_value_next(&r, &v)) == 1)
		write_value(&w, &v);
	void *out = wisp_value_end(&w, out_size);
	if (rc < 0) {
		if (wisp_value_error(&r)[0] == '\0')
			die("refused without a reason");
		wisp_free(out);
		return NULL;
	}
	if (out == NULL)
		die("what was read whole does not write");
	return out;
}

static int l_unpack(lua_State *L)
{
	const void *data = lua_touserdata(L, 1);
	size_t sz = (size_t)lua_tointeger(L, 2);
	lua_settop(L, 0);
	return wisp_value_unpack(L, data, sz);
}

/* How many values Lua decodes from data, or -1 when it refuses it. */
static int lua_count(lua_State *L, const void *data, size_t size)
{
	lua_settop(L, 0);
	lua_pushcfunction(L, l_unpack);
	lua_pushlightuserdata(L, (void *)data);
	lua_pushinteger(L, (lua_Integer)size);
	int n = lua_pcall(L, 2, LUA_MULTRET, 0) == LUA_OK ? lua_gettop(L) : -1;
	lua_settop(L, 0);
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static lua_State *L;
	if (L == NULL)
		L = luaL_newstate();
	size_t once_size, twice_size;
	int64_t count, again;
	void *once = rewrite(data, size, &once_size, &count);
	int lua = lua_count(L, data, size);
	if ((once != NULL) != (lua >= 0))
		die(once ? "C accepts what Lua refuses" : "C refuses what Lua takes");
	if (once == NULL)
		return 0;
	if (lua != count || lua_count(L, once, once_size) != count)
		die("Lua counts other values");
	void *twice = rewrite(once, once_size, &twice_size, &again);
	if (twice == NULL || twice_size != once_size
		|| memcmp(twice, once, once_size) != 0)
		die("writing again changed the bytes");
	wisp_free(once);
	wisp_free(twice);
	return 0;
}
