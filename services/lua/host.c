/* host.c: the Lua host module. Each service gets its own lua_State with
 * a counting allocator (for its memory limit and stats), libraries and
 * functions that appear on first use (to keep idle services small and
 * quick to start), and its script, compiled once per node and loaded from
 * bytecode after. watchdog.c interrupts handlers past their budget. */
#include <lauxlib.h>
#include <lualib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "config.h"
#include "host.h"
#include "module.h"
#include "node.h"
#include "service.h"
#include "value.h"

struct task *wisp_lua_task(lua_State *L)
{
	return *(struct task **)lua_getextraspace(L);
}

/* Lua calls this for an error outside any protected call, and aborts the
 * process if it returns. It returns only when no wisp_lua_guard runs:
 * else the node is stopped in order, control goes back to the guard, and
 * the service's state, left broken, is never run again. */
static int on_panic(lua_State *L)
{
	struct host *h = wisp_lua_task(L)->host;
	/* lua_tostring would allocate for a number: nothing more can fail */
	const char *msg = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1)
		: "(error object is not a string)";
	wisp_log(h->ctx, WISP_LOG_ERROR, "Lua panic, an error outside any "
		"protected call: %s; stopping the node", msg);
	fprintf(stderr, "wisp: service %s: Lua panic: %s\n", h->script, msg);
	h->panicked = 1;
	wisp_exit(h->ctx);
	wisp_shutdown(1);
	if (h->panic_exit)
		__builtin_longjmp(h->panic_exit, 1);
	return 0;
}

int wisp_lua_guard(struct host *h, void (*fn)(struct host *h, void *arg),
	void *arg)
{
	/* the compiler's setjmp: it saves three words, where the C library's
	 * saves every register and costs a few percent of a small message */
	void *here[5], **outer = h->panic_exit;
	h->panic_exit = here;
	if (__builtin_setjmp(here) != 0) {
		h->panic_exit = outer;
		return -1;
	}
	fn(h, arg);
	h->panic_exit = outer;
	return 0;
}

static void *lalloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
	struct host *h = ud;
	if (ptr == NULL)
		osize = 0; /* then osize tells the kind of object, not a size */
	if (nsize == 0) {
		free(ptr);
		h->mem -= osize;
		return NULL;
	}
	if (h->enforce_limit && h->mem_limit && nsize > osize
		&& h->mem + nsize - osize > h->mem_limit)
		return NULL; /* Lua raises a memory error in the handler */
	void *p = realloc(ptr, nsize);
	if (p)
		h->mem += nsize - osize;
	return p;
}

/* Every standard library but the base one is opened the first time a
 * script names it: an idle service costs a few KB less, and a new one
 * starts faster. */
static const struct {
	const char *name;
	lua_CFunction open;
} lazy_libs[] = {
	{ LUA_LOADLIBNAME, luaopen_package }, { LUA_COLIBNAME, luaopen_coroutine },
	{ LUA_TABLIBNAME, luaopen_table }, { LUA_STRLIBNAME, luaopen_string },
	{ LUA_UTF8LIBNAME, luaopen_utf8 }, { LUA_MATHLIBNAME, luaopen_math },
	{ LUA_OSLIBNAME, luaopen_os }, { LUA_IOLIBNAME, luaopen_io },
	{ LUA_DBLIBNAME, luaopen_debug },
};

static const char *lua_path(void);
static int l_require(lua_State *L);

/* Opens library i as a global and returns it. The package library brings
 * its own require; ours, which loads modules from the bytecode cache, is
 * put back. */
static int open_lib(lua_State *L, size_t i)
{
	luaL_requiref(L, lazy_libs[i].name, lazy_libs[i].open, 1);
	if (lazy_libs[i].open == luaopen_package) {
		lua_pushstring(L, lua_path());
		lua_setfield(L, -2, "path");
		lua_pushcfunction(L, l_require);
		lua_setglobal(L, "require");
	}
	return 1;
}

/* Looks name up in the NULL-terminated list of function lists. */
static lua_CFunction find_function(const luaL_Reg *const *lists,
	const char *name)
{
	for (; *lists; lists++)
		for (const luaL_Reg *r = *lists; r->name; r++)
			if (strcmp(r->name, name) == 0)
				return r->func;
	return NULL;
}

/* __index of a lazy table: a function named for the first time is found
 * in the lists (the upvalue) and stored, so the next lookup is a plain
 * one. A new service thus pays only for the functions it uses. */
static int lazy_index(lua_State *L)
{
	const luaL_Reg *const *lists = lua_touserdata(L, lua_upvalueindex(1));
	const char *name = lua_tostring(L, 2);
	lua_CFunction f = name ? find_function(lists, name) : NULL;
	if (f == NULL)
		return 0;
	lua_pushcfunction(L, f);
	lua_pushvalue(L, 2);
	lua_pushvalue(L, -2);
	lua_rawset(L, 1);
	return 1;
}

void wisp_lua_new_class(lua_State *L, const char *name,
	const luaL_Reg *methods, lua_CFunction gc)
{
	luaL_newmetatable(L, name);
	lua_newtable(L);
	luaL_setfuncs(L, methods, 0);
	lua_setfield(L, -2, "__index");
	lua_pushcfunction(L, gc);
	lua_setfield(L, -2, "__gc");
	lua_pop(L, 1);
}

void wisp_lua_set_int(lua_State *L, const char *key, lua_Integer v)
{
	lua_pushinteger(L, v);
	lua_setfield(L, -2, key);
}

void wisp_lua_set_roles(lua_State *L, unsigned roles)
{
	lua_newtable(L);
	int n = 0;
	for (int bit = 0; wisp_role_names[bit]; bit++)
		if (roles & (1u << bit)) {
			lua_pushstring(L, wisp_role_names[bit]);
			lua_rawseti(L, -2, ++n);
		}
	lua_setfield(L, -2, "roles");
}

void wisp_lua_lazy_table(lua_State *L, const luaL_Reg *const *lists)
{
	lua_createtable(L, 0, 0);
	lua_createtable(L, 0, 1);
	lua_pushlightuserdata(L, (void *)lists);
	lua_pushcclosure(L, lazy_index, 1);
	lua_setfield(L, -2, "__index");
	lua_setmetatable(L, -2);
}

/* The base library's functions, read once from a scratch state: they are
 * plain C functions, the same in every state. */
static const luaL_Reg *base_functions(void)
{
	static luaL_Reg *funcs;
	if (funcs)
		return funcs;
	lua_State *L = luaL_newstate();
	luaL_requiref(L, LUA_GNAME, luaopen_base, 1);
	int n = 0;
	funcs = wisp_malloc(64 * sizeof(*funcs));
	lua_pushnil(L);
	while (lua_next(L, -2) && n < 63) {
		if (lua_type(L, -2) == LUA_TSTRING && lua_iscfunction(L, -1)) {
			funcs[n].name = wisp_strdup(lua_tostring(L, -2));
			funcs[n++].func = lua_tocfunction(L, -1);
		}
		lua_pop(L, 1);
	}
	funcs[n] = (luaL_Reg){ NULL, NULL };
	lua_close(L);
	return funcs;
}

/* _G's __index: a base function or a library, the first time it is named. */
static int global_index(lua_State *L)
{
	const luaL_Reg *lists[] = { base_functions(), NULL };
	const char *name = lua_tostring(L, 2);
	if (name == NULL)
		return 0;
	lua_CFunction f = find_function(lists, name);
	if (f) {
		lua_pushcfunction(L, f);
	} else if (strcmp(name, "_VERSION") == 0) {
		lua_pushliteral(L, LUA_VERSION);
	} else {
		for (size_t i = 0; i < sizeof(lazy_libs) / sizeof(*lazy_libs); i++)
			if (strcmp(name, lazy_libs[i].name) == 0)
				return open_lib(L, i);
		return 0;
	}
	lua_pushvalue(L, 2);
	lua_pushvalue(L, -2);
	lua_rawset(L, 1);
	return 1;
}

/* The strings' first metatable: the first method call on a string opens
 * the string library, which installs the real metatable. */
static int open_string_methods(lua_State *L)
{
	luaL_requiref(L, LUA_STRLIBNAME, luaopen_string, 1);
	lua_getfield(L, -1, lua_tostring(L, 2));
	return 1;
}

static void set_metatable(lua_State *L, lua_CFunction index)
{
	lua_createtable(L, 0, 1);
	lua_pushcfunction(L, index);
	lua_setfield(L, -2, "__index");
	lua_setmetatable(L, -2);
}

/* Only what every service needs is made now: _G, require and the
 * metatables that open the rest on first use. */
static void open_libs(lua_State *L)
{
	lua_pushglobaltable(L);
	lua_pushvalue(L, -1);
	lua_setfield(L, -2, LUA_GNAME);
	lua_pushcfunction(L, l_require);
	lua_setfield(L, -2, "require");
	set_metatable(L, global_index);
	lua_pop(L, 1);
	lua_pushliteral(L, "");
	set_metatable(L, open_string_methods);
	lua_pop(L, 1);
}

/* The config's lua_path, then the libraries and services that ship. */
static const char *lua_path(void)
{
	static char path[4096];
	wisp_lua_path(wisp_node_config(), path, sizeof(path));
	return path;
}

/* Scripts compiled once per node, kept as bytecode. A hot update compiles
 * one again and keeps the code it replaced until the update has run. */
struct script {
	struct script *next;
	char *name;
	char *code;
	size_t size;
	char *old_code;
	size_t old_size;
};
static struct script *scripts;

static int dump_writer(lua_State *L, const void *p, size_t sz, void *ud)
{
	(void)L;
	struct script *s = ud;
	s->code = wisp_realloc(s->code, s->size + sz);
	memcpy(s->code + s->size, p, sz);
	s->size += sz;
	return 0;
}

/* Compiles the file of name into s->code; 0, or -1 with err. */
static int compile_into(lua_State *L, const char *name, struct script *s,
	char *err, size_t errsz)
{
	char file[1024], slashed[128];
	snprintf(slashed, sizeof(slashed), "%s", name);
	for (char *c = slashed; *c; c++)
		if (*c == '.')
			*c = '/';
	if (wisp_path_search(lua_path(), slashed, file, sizeof(file)) < 0) {
		snprintf(err, errsz, "script '%s' not found on the lua path '%.700s'",
			name, lua_path());
		return -1;
	}
	if (luaL_loadfilex(L, file, "t") != LUA_OK) {
		snprintf(err, errsz, "%s", lua_tostring(L, -1));
		lua_pop(L, 1);
		return -1;
	}
	s->code = NULL;
	s->size = 0;
	lua_dump(L, dump_writer, s, 0);
	lua_pop(L, 1);
	return 0;
}

static struct script *find_script(const char *name)
{
	struct script *s = scripts;
	while (s && strcmp(s->name, name) != 0)
		s = s->next;
	return s;
}

static struct script *compile(lua_State *L, const char *name, char *err,
	size_t errsz)
{
	struct script *s = wisp_malloc(sizeof(*s));
	memset(s, 0, sizeof(*s));
	if (compile_into(L, name, s, err, errsz) < 0) {
		wisp_free(s);
		return NULL;
	}
	s->name = wisp_strdup(name);
	s->next = scripts;
	scripts = s;
	return s;
}

int wisp_lua_recompile(lua_State *L, const char *name, char *err,
	size_t errsz)
{
	struct script *s = find_script(name);
	if (s == NULL)
		return compile(L, name, err, errsz) ? 0 : -1;
	char *code = s->code;
	size_t size = s->size;
	if (compile_into(L, name, s, err, errsz) < 0) {
		s->code = code;
		s->size = size;
		return -1;
	}
	wisp_free(s->old_code);
	s->old_code = code;
	s->old_size = size;
	return 0;
}

void wisp_lua_settle_code(const char *name, int keep_new)
{
	struct script *s = find_script(name);
	if (s == NULL || s->old_code == NULL)
		return;
	if (!keep_new) {
		wisp_free(s->code);
		s->code = s->old_code;
		s->size = s->old_size;
	} else {
		wisp_free(s->old_code);
	}
	s->old_code = NULL;
	s->old_size = 0;
}

/* Pushes the main chunk of a script or module onto L. */
int wisp_lua_load_script(lua_State *L, const char *name, char *err,
	size_t errsz)
{
	struct script *s = find_script(name);
	if (s == NULL && (s = compile(L, name, err, errsz)) == NULL)
		return -1;
	if (luaL_loadbufferx(L, s->code, s->size, name, "b") != LUA_OK) {
		snprintf(err, errsz, "%s", lua_tostring(L, -1));
		lua_pop(L, 1);
		return -1;
	}
	return 0;
}

/* The modules require finds without a file. */
static const luaL_Reg preloaded[] = {
	{ "wisp", wisp_lua_open }, { "wisp.socket.core", wisp_lua_open_socket },
	{ "wisp.db.settings", wisp_lua_open_db_settings },
	{ "wisp.db.files", wisp_lua_open_db_files },
	{ "wisp.admin", wisp_lua_open_admin },
	{ NULL, NULL },
};

/* Those in a library of their own on the module path (services/db's
 * wispdb.so), loaded by the first require on the node. */
static const struct {
	const char *name, *library, *open;
} on_module_path[] = {
	{ "wisp.sqlite", "wispdb", "wisp_lua_open_sqlite" },
	{ "wisp.memcached", "wispdb", "wisp_lua_open_memcached" },
	{ "wisp.pq", "wispdb", "wisp_lua_open_pq" },
};

/* Pushes the loader of one of on_module_path; 0 if name is none of them.
 * Raises if its library cannot be had. */
static int push_from_module_path(lua_State *L, const char *name)
{
	for (size_t i = 0; i < sizeof(on_module_path) / sizeof(*on_module_path);
		i++) {
		if (strcmp(name, on_module_path[i].name) != 0)
			continue;
		char err[512];
		lua_CFunction f = (lua_CFunction)wisp_module_symbol(
			on_module_path[i].library, on_module_path[i].open, err,
			sizeof(err));
		if (f == NULL)
			return luaL_error(L, "module '%s' not found: %s", name, err);
		lua_pushcfunction(L, f);
		return 1;
	}
	return 0;
}

/* Pushes the loader of a standard library or a wisp C module; 0 if name
 * is neither. */
static int push_preloaded(lua_State *L, const char *name)
{
	for (size_t i = 0; i < sizeof(lazy_libs) / sizeof(*lazy_libs); i++)
		if (strcmp(name, lazy_libs[i].name) == 0) {
			lua_pushcfunction(L, lazy_libs[i].open);
			return 1;
		}
	const luaL_Reg *lists[] = { preloaded, NULL };
	lua_CFunction f = find_function(lists, name);
	if (f)
		lua_pushcfunction(L, f);
	return f != NULL || push_from_module_path(L, name);
}

/* require(name): a loaded module, a standard library or wisp C module, or
 * a Lua file on the lua path, compiled once per node. */
static int l_require(lua_State *L)
{
	const char *name = luaL_checkstring(L, 1);
	lua_settop(L, 1);
	luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
	if (lua_getfield(L, 2, name) != LUA_TNIL)
		return 1;
	lua_pop(L, 1);
	if (!push_preloaded(L, name)) {
		char err[1024];
		if (wisp_lua_load_script(L, name, err, sizeof(err)) < 0)
			return luaL_error(L, "module '%s' not found: %s", name, err);
		wisp_lua_note_module(L, name);
	}
	lua_pushvalue(L, 1);
	lua_call(L, 1, 1);
	if (lua_isnil(L, -1)) {
		lua_pop(L, 1);
		lua_pushboolean(L, 1);
	}
	lua_pushvalue(L, -1);
	lua_setfield(L, 2, name);
	return 1;
}

static void new_state(struct host *h)
{
	const struct wisp_config *cfg = wisp_node_config();
	h->mem_limit = cfg ? cfg->lua_memory_limit : 0;
	h->budget_ms = cfg ? cfg->lua_budget_ms : 5000;
	h->call_timeout_ms = cfg ? cfg->call_timeout_ms : 10000;
	h->L = lua_newstate(lalloc, h);
	if (h->L == NULL)
		abort(); /* out of memory, as wisp_malloc */
	lua_atpanic(h->L, on_panic);
	h->main_task.host = h;
	h->main_task.co = h->L;
	*(struct task **)lua_getextraspace(h->L) = &h->main_task;
	h->current = &h->main_task;
	open_libs(h->L);
	lua_newtable(h->L);
	h->handlers_ref = luaL_ref(h->L, LUA_REGISTRYINDEX);
	h->lua_handler_ref = LUA_NOREF;
	h->start_ref = LUA_NOREF;
	h->deferred_tail = &h->deferred;
	h->owed.next = h->owed.prev = &h->owed;
}

/* A service started by wisp.newservice (or for another node's
 * newservice_at): its arguments and who waits, on any node. */
static struct {
	int active;
	wisp_handle parent;
	int session;
	void *args;
	size_t size;
} spawn;

wisp_handle wisp_lua_spawn(wisp_handle parent, const char *name, void *args,
	size_t sz, int session, char *err, size_t errsz)
{
	spawn.active = 1;
	spawn.parent = parent;
	spawn.session = session;
	spawn.args = args;
	spawn.size = sz;
	wisp_handle h = wisp_service_start("lua", name, err, errsz);
	if (spawn.active) /* init never ran: the args are still ours */
		wisp_free(spawn.args);
	spawn.active = 0;
	return h;
}

/* Packs the words after the script name as string arguments. */
static void *pack_words(lua_State *L, const char *words, size_t *sz)
{
	int base = lua_gettop(L);
	while (*words) {
		size_t n = strcspn(words, " ");
		if (n)
			lua_pushlstring(L, words, n);
		words += n + (words[n] == ' ');
	}
	void *packed = wisp_value_pack(L, base + 1, lua_gettop(L), sz);
	lua_settop(L, base);
	return packed;
}

/* The first message: BOOT, with the arguments, as a call from the parent
 * (or from nobody when the config started it). */
static void send_boot(struct host *h, const char *words)
{
	wisp_handle parent = 0;
	int session = 0;
	size_t sz = 0;
	void *args;
	if (spawn.active) {
		parent = spawn.parent;
		session = spawn.session;
		args = spawn.args;
		sz = spawn.size;
		spawn.active = 0;
	} else {
		args = pack_words(h->L, words, &sz);
	}
	wisp_deliver(parent, wisp_self(h->ctx), WISP_MSG_BOOT, session, args, sz);
}

static void *lua_create(void)
{
	struct host *h = wisp_malloc(sizeof(*h));
	memset(h, 0, sizeof(*h));
	return h;
}

/* The start once the script is named: its words, and why it failed. */
struct start {
	const char *words;
	char err[1024];
};

static void start(struct host *h, void *arg)
{
	struct start *s = arg;
	new_state(h);
	h->ctx->memory_limit = h->mem_limit;
	if (wisp_lua_load_script(h->L, h->script, s->err, sizeof(s->err)) < 0)
		return;
	lua_setfield(h->L, LUA_REGISTRYINDEX, "wisp.main");
	wisp_set_callback(h->ctx, h, wisp_lua_dispatch);
	send_boot(h, s->words);
}

/* args: "script [words...]" */
static int lua_init(void *inst, struct wisp_context *ctx, const char *args)
{
	struct host *h = inst;
	size_t n = strcspn(args, " ");
	h->ctx = ctx;
	if (n == 0 || n >= sizeof(h->script))
		return wisp_fail(ctx, "the lua service wants \"script [args]\", got "
			"\"%s\"", args);
	memcpy(h->script, args, n);
	h->essential = wisp_node_starting() && !spawn.active;
	struct start s = { args + n + (args[n] == ' '), "" };
	if (wisp_lua_guard(h, start, &s) < 0)
		return wisp_fail(ctx, "a Lua panic while starting %s", h->script);
	return s.err[0] ? wisp_fail(ctx, "%s", s.err) : 0;
}

static void close_state(struct host *h, void *arg)
{
	(void)arg;
	lua_close(h->L);
}

static void lua_release(void *inst)
{
	struct host *h = inst;
	wisp_lua_drop_deferred(h);
	if (h->L) {
		wisp_owed_fail_all(h);
		/* a state broken by a panic may panic again: it is then left */
		wisp_lua_guard(h, close_state, NULL);
	}
	wisp_keymap_free(&h->waits);
	wisp_calls_free(h);
	wisp_free(h);
}

const struct wisp_module wisp_lua_module = {
	.name = "lua",
	.create = lua_create,
	.init = lua_init,
	.release = lua_release,
	.stats = wisp_lua_stats,
};
