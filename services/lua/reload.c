/* reload.c: what the console asks of a Lua service (WISP_MSG_SYSTEM):
 * "gc", and "reload", the hot update. A reload compiles the service's
 * script and the modules it required from files again, then runs the
 * main chunk once more in the running state: the handlers it registers
 * (wisp.dispatch, wisp.command, ...) replace the old ones, wisp.start is
 * not run again, and what the code kept with wisp.keep is handed back to
 * it. Code that does not compile, or whose main chunk fails, changes
 * nothing: the old handlers, modules and compiled code are put back. The
 * runtime's own libraries (wisp.*) and services (db.*, console.*) are
 * never reloaded: they hold state no script can hand over. */
#include <lauxlib.h>
#include <stdio.h>
#include <string.h>
#include "host.h"
#include "service.h"
#include "value.h"

#define MODULES "wisp.modules" /* registry: name -> true, from files */
#define KEPT "wisp.kept"       /* registry: wisp.keep's values */
#define NO_HANDLER "no handler was replaced (those registered inside " \
	"wisp.start keep their old code)"

int wisp_lua_is_runtime(const char *name)
{
	static const char *const prefixes[] = { "wisp.", "db.", "console." };
	if (strcmp(name, "wisp") == 0)
		return 1;
	for (size_t i = 0; i < sizeof(prefixes) / sizeof(*prefixes); i++)
		if (strncmp(name, prefixes[i], strlen(prefixes[i])) == 0)
			return 1;
	return 0;
}

void wisp_lua_note_module(lua_State *L, const char *name)
{
	if (wisp_lua_is_runtime(name))
		return;
	luaL_getsubtable(L, LUA_REGISTRYINDEX, MODULES);
	lua_pushboolean(L, 1);
	lua_setfield(L, -2, name);
	lua_pop(L, 1);
}

/* keep(name, initial): the value kept under name across hot updates;
 * the first time, initial (or what initial() returns) becomes it. */
static int l_keep(lua_State *L)
{
	luaL_checkstring(L, 1);
	lua_settop(L, 2);
	luaL_getsubtable(L, LUA_REGISTRYINDEX, KEPT);
	if (lua_getfield(L, 3, lua_tostring(L, 1)) != LUA_TNIL)
		return 1;
	lua_pop(L, 1);
	if (lua_isfunction(L, 2)) {
		lua_pushvalue(L, 2);
		lua_call(L, 0, 1);
	} else {
		lua_pushvalue(L, 2);
	}
	lua_pushvalue(L, -1);
	lua_setfield(L, 3, lua_tostring(L, 1));
	return 1;
}

const luaL_Reg wisp_lua_reload_funcs[] = {
	{ "keep", l_keep }, { NULL, NULL },
};

/* Pushes a list of the names to compile again: the script, then the
 * modules it required from files. */
static void push_names(struct host *h, lua_State *L)
{
	lua_newtable(L);
	lua_pushstring(L, h->script);
	lua_rawseti(L, -2, 1);
	luaL_getsubtable(L, LUA_REGISTRYINDEX, MODULES);
	lua_pushnil(L);
	while (lua_next(L, -2)) {
		lua_pop(L, 1);
		lua_pushvalue(L, -1);
		lua_rawseti(L, -4, luaL_len(L, -4) + 1);
	}
	lua_pop(L, 1);
}

/* Settles the code of names[1..n]: the new kept, or the old put back. */
static void settle(lua_State *L, int names, lua_Integer n, int keep_new)
{
	for (lua_Integer i = 1; i <= n; i++) {
		lua_rawgeti(L, names, i);
		wisp_lua_settle_code(lua_tostring(L, -1), keep_new);
		lua_pop(L, 1);
	}
}

static int recompile_all(lua_State *L, int names, char *err, size_t errsz)
{
	lua_Integer n = luaL_len(L, names);
	for (lua_Integer i = 1; i <= n; i++) {
		lua_rawgeti(L, names, i);
		const char *name = lua_tostring(L, -1);
		int rc = wisp_lua_recompile(L, name, err, errsz);
		lua_pop(L, 1);
		if (rc < 0) {
			settle(L, names, i - 1, 0);
			return -1;
		}
	}
	return 0;
}

static void copy_table(lua_State *L, int from, int to)
{
	lua_pushnil(L);
	while (lua_next(L, from)) {
		lua_pushvalue(L, -2);
		lua_insert(L, -2);
		lua_rawset(L, to);
	}
}

/* Pushes a copy of the handlers, one level deep for the client
 * commands' table, which wisp.command fills in place. */
static void push_handlers_copy(struct host *h, lua_State *L)
{
	lua_rawgeti(L, LUA_REGISTRYINDEX, h->handlers_ref);
	int live = lua_gettop(L);
	lua_newtable(L);
	copy_table(L, live, live + 1);
	if (lua_rawgeti(L, live, WISP_MSG_CLIENT) == LUA_TTABLE) {
		lua_newtable(L);
		copy_table(L, lua_gettop(L) - 1, lua_gettop(L));
		lua_rawseti(L, live + 1, WISP_MSG_CLIENT);
	}
	lua_pop(L, 1);
	lua_remove(L, live);
}

/* The handlers as they were before the failed update. */
static void restore_handlers(struct host *h, lua_State *L, int saved)
{
	lua_newtable(L);
	copy_table(L, saved, lua_gettop(L));
	luaL_unref(L, LUA_REGISTRYINDEX, h->handlers_ref);
	lua_rawgeti(L, -1, WISP_MSG_LUA);
	luaL_unref(L, LUA_REGISTRYINDEX, h->lua_handler_ref);
	h->lua_handler_ref = luaL_ref(L, LUA_REGISTRYINDEX); /* nil: NOREF */
	h->handlers_ref = luaL_ref(L, LUA_REGISTRYINDEX);
}

/* Takes the file modules out of package.loaded, so that the main chunk
 * requires them anew. */
static void unload_modules(lua_State *L, int names)
{
	luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
	lua_Integer n = luaL_len(L, names);
	for (lua_Integer i = 2; i <= n; i++) { /* 1 is the script */
		lua_rawgeti(L, names, i);
		lua_pushnil(L);
		lua_rawset(L, -3);
	}
	lua_pop(L, 1);
}

/* Pushes a copy of a registry table: what package.loaded and the list
 * of file modules held before the update. */
static void push_registry_copy(lua_State *L, const char *name)
{
	luaL_getsubtable(L, LUA_REGISTRYINDEX, name);
	lua_newtable(L);
	copy_table(L, lua_gettop(L) - 1, lua_gettop(L));
	lua_remove(L, -2);
}

/* Puts a registry table back as its copy has it: what the failed update
 * required for the first time goes too. */
static void restore_registry(lua_State *L, const char *name, int saved)
{
	luaL_getsubtable(L, LUA_REGISTRYINDEX, name);
	int live = lua_gettop(L);
	lua_pushnil(L);
	while (lua_next(L, live)) {
		lua_pop(L, 1);
		lua_pushvalue(L, -1);
		lua_pushnil(L);
		lua_rawset(L, live); /* clearing a present field keeps next valid */
	}
	copy_table(L, saved, live);
	lua_pop(L, 1);
}

/* The main chunk with the service's start arguments, run to its end; it
 * may not wait (there is no task to suspend). */
static int run_main(struct host *h, lua_State *L, char *err, size_t errsz)
{
	if (wisp_lua_load_script(L, h->script, err, errsz) < 0)
		return -1;
	int base = lua_gettop(L);
	lua_getfield(L, LUA_REGISTRYINDEX, "wisp.args");
	size_t sz;
	const char *args = lua_tolstring(L, -1, &sz);
	lua_pop(L, 1);
	int nargs = args && sz ? wisp_value_unpack(L, args, sz) : 0;
	h->reloading = 1;
	h->enforce_limit = 1;
	wisp_watchdog_begin(L, h->budget_ms); /* as any handler: a loop ends */
	int rc = lua_pcall(L, nargs, 0, 0);
	wisp_watchdog_end(L);
	h->enforce_limit = 0;
	h->reloading = 0;
	if (rc != LUA_OK) {
		snprintf(err, errsz, "%s", lua_tostring(L, -1));
		lua_settop(L, base - 1);
		return -1;
	}
	return 0;
}

/* The entries of table live that are not those of saved, by identity. */
static int count_changed(lua_State *L, int live, int saved)
{
	int changed = 0;
	lua_pushnil(L);
	while (lua_next(L, live)) {
		lua_pushvalue(L, -2);
		lua_rawget(L, saved);
		changed += !lua_rawequal(L, -1, -2);
		lua_pop(L, 2);
	}
	return changed;
}

/* How many handlers the main chunk registered anew, the client commands'
 * one by one: none means it registers them only where a reload does not
 * reach (inside wisp.start), and the update changed no behaviour. */
static int count_replaced(struct host *h, lua_State *L, int saved)
{
	lua_rawgeti(L, LUA_REGISTRYINDEX, h->handlers_ref);
	int live = lua_gettop(L);
	int replaced = 0;
	lua_rawgeti(L, live, WISP_MSG_CLIENT);
	lua_rawgeti(L, saved, WISP_MSG_CLIENT);
	if (lua_istable(L, -2) && lua_istable(L, -1))
		replaced += count_changed(L, lua_gettop(L) - 1, lua_gettop(L));
	else
		replaced += !lua_rawequal(L, -1, -2);
	lua_pop(L, 2);
	lua_pushnil(L);
	while (lua_next(L, live)) { /* the rest, the client table aside */
		if (!lua_istable(L, -1)) {
			lua_pushvalue(L, -2);
			lua_rawget(L, saved);
			replaced += !lua_rawequal(L, -1, -2);
			lua_pop(L, 1);
		}
		lua_pop(L, 1);
	}
	lua_pop(L, 1);
	return replaced;
}

static int reload(struct host *h, int *replaced, char *err, size_t errsz)
{
	lua_State *L = h->L;
	int top = lua_gettop(L);
	if (wisp_lua_is_runtime(h->script)) {
		snprintf(err, errsz, "%s is part of the runtime: it is not "
			"hot-updated", h->script);
		return -1;
	}
	push_names(h, L);
	int names = lua_gettop(L);
	if (recompile_all(L, names, err, errsz) < 0) {
		lua_settop(L, top);
		return -1;
	}
	push_handlers_copy(h, L);
	int saved_handlers = lua_gettop(L);
	push_registry_copy(L, LUA_LOADED_TABLE);
	int saved_loaded = lua_gettop(L);
	push_registry_copy(L, MODULES);
	int saved_modules = lua_gettop(L);
	unload_modules(L, names);
	int rc = run_main(h, L, err, errsz);
	if (rc == 0)
		*replaced = count_replaced(h, L, saved_handlers);
	if (rc < 0) {
		restore_handlers(h, L, saved_handlers);
		restore_registry(L, LUA_LOADED_TABLE, saved_loaded);
		restore_registry(L, MODULES, saved_modules);
	}
	settle(L, names, luaL_len(L, names), rc == 0);
	lua_settop(L, top);
	return rc;
}

static void answer_text(struct host *h, wisp_handle to, int session,
	const char *text)
{
	lua_pushstring(h->L, text);
	size_t sz;
	void *msg = wisp_value_pack(h->L, -1, -1, &sz);
	lua_pop(h->L, 1);
	wisp_send(h->ctx, to, WISP_MSG_RESPONSE, session, msg, sz);
}

static void collect(struct host *h, char *out, size_t outsz)
{
	size_t before = h->mem;
	lua_gc(h->L, LUA_GCCOLLECT);
	snprintf(out, outsz, "freed %zu KB, %zu KB in use",
		before > h->mem ? (before - h->mem) / 1024 : 0, h->mem / 1024);
}

void wisp_lua_system(struct host *h, wisp_handle source, int session,
	const void *msg, size_t sz)
{
	char out[1024];
	if (sz == 2 && memcmp(msg, "gc", 2) == 0) {
		collect(h, out, sizeof(out));
	} else if (sz == 6 && memcmp(msg, "reload", 6) == 0) {
		char err[900];
		int replaced = 0;
		if (reload(h, &replaced, err, sizeof(err)) < 0) {
			wisp_log(h->ctx, WISP_LOG_WARN, "hot update of %s failed, nothing "
				"changed: %s", h->script, err);
			wisp_bounce(wisp_self(h->ctx), source, session, "reload of %s "
				"failed: %s", h->script, err);
			return;
		}
		if (replaced == 0) {
			wisp_log(h->ctx, WISP_LOG_WARN, "hot update of %s replaced no "
				"handler: %s", h->script, NO_HANDLER);
			snprintf(out, sizeof(out), "reloaded %s, but %s", h->script,
				NO_HANDLER);
		} else {
			wisp_log(h->ctx, WISP_LOG_INFO, "hot update of %s done (%d "
				"handlers replaced)", h->script, replaced);
			snprintf(out, sizeof(out), "reloaded %s", h->script);
		}
	} else {
		wisp_bounce(wisp_self(h->ctx), source, session, "unknown system "
			"request '%.*s' (gc, reload)", (int)(sz < 40 ? sz : 40),
			(const char *)msg);
		return;
	}
	if (session > 0)
		answer_text(h, source, session, out);
	h->ctx->memory = h->mem;
}
