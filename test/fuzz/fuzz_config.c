/* fuzz_config.c: libFuzzer target for the config loader (runtime/config*.c
 * and the services' sections): the input is a config file's text. Every
 * load must end in a config or an error naming the file, within the
 * loader's bounds on instructions and memory: never a hang, a crash or a
 * panic of Lua. The file is read three ways, as wisp reads it: its node
 * names, the first node alone, and each node in turn (wisp --check).
 *
 * The config's Lua gets what a config uses (base, string, table, math,
 * utf8, coroutine, os.getenv and os's clocks, debug.getinfo), not what
 * would let an input act on this machine or escape the loader's bounds
 * (io, os.exit, os.remove, dofile, debug.sethook): this file's
 * luaL_openlibs replaces Lua's for the loader linked into it. */
#include <lauxlib.h>
#include <lualib.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "config.h"
#include "config_reader.h"
#include "console_config.h"
#include "db_config.h"
#include "gate_config.h"
#include "harbor_config.h"
#include "wisp.h"

static char path[64];

static _Noreturn void die(const char *what, const char *err)
{
	fprintf(stderr, "fuzz_config: %s: %s\n", what, err);
	abort();
}

/* Keeps only names of the library on top; pops it into global name. */
static void keep(lua_State *L, const char *name, const char *const *names)
{
	lua_newtable(L);
	for (; *names; names++) {
		lua_getfield(L, -2, *names);
		lua_setfield(L, -2, *names);
	}
	lua_setglobal(L, name);
	lua_pop(L, 1);
}

void luaL_openlibs(lua_State *L)
{
	static const char *const os_names[] = { "getenv", "time", "clock",
		"date", "difftime", NULL };
	static const char *const debug_names[] = { "getinfo", "traceback", NULL };
	static const char *const unsafe[] = { "dofile", "loadfile", "print",
		NULL };
	luaL_requiref(L, LUA_GNAME, luaopen_base, 1);
	luaL_requiref(L, LUA_STRLIBNAME, luaopen_string, 1);
	luaL_requiref(L, LUA_TABLIBNAME, luaopen_table, 1);
	luaL_requiref(L, LUA_MATHLIBNAME, luaopen_math, 1);
	luaL_requiref(L, LUA_UTF8LIBNAME, luaopen_utf8, 1);
	luaL_requiref(L, LUA_COLIBNAME, luaopen_coroutine, 1);
	lua_pop(L, 6);
	luaL_requiref(L, LUA_OSLIBNAME, luaopen_os, 0);
	keep(L, LUA_OSLIBNAME, os_names);
	luaL_requiref(L, LUA_DBLIBNAME, luaopen_debug, 0);
	keep(L, LUA_DBLIBNAME, debug_names);
	for (const char *const *n = unsafe; *n; n++) {
		lua_pushnil(L);
		lua_setglobal(L, *n);
	}
}

static void check_error(const char *err)
{
	if (strncmp(err, path, strlen(path)) != 0)
		die("an error that does not name the file", err);
}

static int check_node(const char *node, const struct wisp_config *cfg,
	void *ud)
{
	(void)ud;
	if (strcmp(cfg->node, node) != 0 || cfg->peer_count == 0
		|| wisp_config_peer_id(cfg, cfg->node_id) == NULL)
		die("a config without its own node", node);
	return 0;
}

static void load(void)
{
	char err[512];
	char **names;
	size_t count;
	struct wisp_config cfg;
	if (wisp_config_node_names(path, &names, &count, err, sizeof(err)) < 0) {
		check_error(err);
		return;
	}
	if (wisp_config_load(path, names[0], &cfg, err, sizeof(err)) == 0) {
		check_node(names[0], &cfg, NULL);
		wisp_config_free(&cfg);
	} else {
		check_error(err);
	}
	if (wisp_config_load_each(path, check_node, NULL, err, sizeof(err)) < 0)
		check_error(err);
	for (size_t i = 0; i < count; i++)
		wisp_free(names[i]);
	wisp_free(names);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (path[0] == '\0') {
		snprintf(path, sizeof(path), "/tmp/fuzz_config_%d.lua",
			(int)getpid());
		wisp_config_register(&wisp_harbor_config);
		wisp_config_register(&wisp_gate_config);
		wisp_config_register(&wisp_db_config);
		wisp_config_register(&wisp_console_config);
	}
	FILE *f = fopen(path, "wb");
	if (f == NULL || fwrite(data, 1, size, f) != size || fclose(f) != 0)
		die("cannot write", path);
	load();
	unlink(path);
	return 0;
}
