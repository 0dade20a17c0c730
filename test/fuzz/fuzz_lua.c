/* fuzz_lua.c: libFuzzer target for parsers written in Lua (the console's
 * line protocol, its metrics endpoint's HTTP): the input goes to the
 * function the driver FUZZ_DRIVER (test/fuzz/FUZZ_DRIVER.lua) returns,
 * which raises when a check fails; a raise is a crash here. Lua code has
 * no compiler coverage, so a line hook feeds libFuzzer its own: each pair
 * of lines run in a row counts in libFuzzer's extra counters. */
#include <lauxlib.h>
#include <lualib.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define COUNTERS 65536

__attribute__((section("__libfuzzer_extra_counters")))
static uint8_t counters[COUNTERS];

static uintptr_t last_line;

static void count_line(lua_State *L, lua_Debug *ar)
{
	lua_getinfo(L, "S", ar);
	uintptr_t here = (uintptr_t)ar->source * 31 + (uintptr_t)ar->currentline;
	counters[(here ^ (last_line >> 1)) % COUNTERS]++;
	last_line = here;
}

static _Noreturn void die(lua_State *L)
{
	fprintf(stderr, "fuzz_lua: %s: %s\n", FUZZ_DRIVER, lua_tostring(L, -1));
	abort();
}

/* The driver's function, loaded once, in the registry. */
static lua_State *start(void)
{
	lua_State *L = luaL_newstate();
	luaL_openlibs(L);
	lua_getglobal(L, "package");
	lua_pushstring(L, FUZZ_PATH);
	lua_setfield(L, -2, "path");
	lua_pop(L, 1);
	lua_getglobal(L, "require");
	lua_pushstring(L, FUZZ_DRIVER);
	if (lua_pcall(L, 1, 1, 0) != LUA_OK || !lua_isfunction(L, -1))
		die(L);
	lua_setfield(L, LUA_REGISTRYINDEX, "fuzz_driver");
	lua_sethook(L, count_line, LUA_MASKLINE, 0);
	return L;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static lua_State *L;
	if (L == NULL)
		L = start();
	lua_getfield(L, LUA_REGISTRYINDEX, "fuzz_driver");
	lua_pushlstring(L, (const char *)data, size);
	if (lua_pcall(L, 1, 0, 0) != LUA_OK)
		die(L);
	return 0;
}
