/* fuzz_value.c: libFuzzer target for the value serializer. Any input may be
 * refused but must not crash. One that decodes is packed and unpacked
 * twice more: both rounds must give the same values and the same size.
 * The bytes themselves may differ, since a rebuilt table can list its keys
 * in another order; so values are compared by a digest of their content. */
#include <lauxlib.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "proto_alloc.h"
#include "value.h"

struct packed {
	void *buf;
	size_t sz;
};

static int l_unpack(lua_State *L)
{
	const void *data = lua_touserdata(L, 1);
	size_t sz = (size_t)lua_tointeger(L, 2);
	lua_settop(L, 0);
	return wisp_value_unpack(L, data, sz);
}

/* Arguments: where to put the result, then the values. */
static int l_pack(lua_State *L)
{
	struct packed *out = lua_touserdata(L, 1);
	out->buf = wisp_value_pack(L, 2, lua_gettop(L), &out->sz);
	return 0;
}

static _Noreturn void die(const char *what)
{
	fprintf(stderr, "fuzz_value: %s\n", what);
	abort();
}

/* Pushes the values in data; returns how many, or -1 if it was refused. */
static int unpack(lua_State *L, const void *data, size_t sz)
{
	int base = lua_gettop(L);
	lua_pushcfunction(L, l_unpack);
	lua_pushlightuserdata(L, (void *)data);
	lua_pushinteger(L, (lua_Integer)sz);
	if (lua_pcall(L, 2, LUA_MULTRET, 0) != LUA_OK) {
		lua_settop(L, base);
		return -1;
	}
	return lua_gettop(L) - base;
}

/* Packs the n values from stack index from on: decoded values must pack. */
static struct packed pack(lua_State *L, int from, int n)
{
	struct packed out;
	if (!lua_checkstack(L, n + 2))
		die("Lua stack overflow");
	lua_pushcfunction(L, l_pack);
	lua_pushlightuserdata(L, &out);
	for (int i = 0; i < n; i++)
		lua_pushvalue(L, from + i);
	if (lua_pcall(L, n + 1, 0, 0) != LUA_OK)
		die(lua_tostring(L, -1));
	return out;
}

/* splitmix64's finalizer. */
static uint64_t mix(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

/* A hash of the content at absolute index idx: subtypes and float bits
 * count, table identity and key order do not. */
static uint64_t digest(lua_State *L, int idx)
{
	size_t n;
	const char *s;
	uint64_t h, sum = 0;
	double d;
	switch (lua_type(L, idx)) {
	case LUA_TNIL:
		return mix(1);
	case LUA_TBOOLEAN:
		return mix(2 + (uint64_t)lua_toboolean(L, idx));
	case LUA_TNUMBER:
		if (lua_isinteger(L, idx))
			return mix(4 ^ mix((uint64_t)lua_tointeger(L, idx)));
		d = lua_tonumber(L, idx);
		memcpy(&h, &d, sizeof h);
		return mix(5 ^ mix(h));
	case LUA_TSTRING:
		s = lua_tolstring(L, idx, &n);
		h = 0xcbf29ce484222325ull; /* FNV-1a */
		for (size_t i = 0; i < n; i++)
			h = (h ^ (unsigned char)s[i]) * 0x100000001b3ull;
		return mix(6 ^ mix(h ^ n));
	case LUA_TTABLE:
		if (!lua_checkstack(L, 2))
			die("Lua stack overflow");
		lua_pushnil(L);
		while (lua_next(L, idx)) {
			int top = lua_gettop(L);
			sum += mix(digest(L, top - 1) ^ mix(digest(L, top) + 7));
			lua_pop(L, 1);
		}
		return mix(8 ^ sum);
	default:
		die("unexpected type");
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static lua_State *L;
	if (L == NULL)
		L = luaL_newstate();
	lua_settop(L, 0);
	int n = unpack(L, data, size);
	if (n < 0)
		return 0;
	struct packed second = pack(L, 1, n);
	if (unpack(L, second.buf, second.sz) != n)
		die("packed values do not unpack");
	struct packed third = pack(L, n + 1, n);
	if (third.sz != second.sz)
		die("repacking changed the size");
	if (unpack(L, third.buf, third.sz) != n)
		die("repacked values do not unpack");
	for (int i = 1; i <= n; i++) {
		uint64_t h = digest(L, i);
		if (digest(L, n + i) != h || digest(L, 2 * n + i) != h)
			die("a round trip changed a value");
	}
	wisp_proto_free(second.buf);
	wisp_proto_free(third.buf);
	lua_settop(L, 0);
	return 0;
}
