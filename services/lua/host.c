/* host.c: the Lua host module. Each service gets its own lua_State with
 * a counting allocator (for its memory limit and stats), a count hook that
 * interrupts a handler past its time budget, the standard libraries (the
 * rarely used ones loaded on first use, to keep idle services small), and
 * its script, compiled once per node and loaded from bytecode after. */
#include <lauxlib.h>
#include <lualib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "config.h"
#include "host.h"
#include "module.h"
#include "node.h"
#include "service.h"
#include "value.h"

#define HOOK_EVERY 10000 /* instructions between budget checks */

struct task *wisp_lua_task(lua_State *L)
{
	return *(struct task **)lua_getextraspace(L);
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

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Runs every HOOK_EVERY instructions. The first run within a resume notes
 * the time, so a handler costs no clock reads unless it runs long. */
static void budget_hook(lua_State *L, lua_Debug *ar)
{
	(void)ar;
	struct host *h = wisp_lua_task(L)->host;
	if (h->hook_seq != h->run_seq) {
		h->hook_seq = h->run_seq;
		h->hook_start_ms = now_ms();
	} else if (now_ms() - h->hook_start_ms > h->budget_ms) {
		luaL_error(L, "handler ran longer than %d ms and was interrupted",
			(int)h->budget_ms);
	}
}

static const struct {
	const char *name;
	lua_CFunction open;
} eager_libs[] = {
	{ LUA_GNAME, luaopen_base }, { LUA_LOADLIBNAME, luaopen_package },
	{ LUA_COLIBNAME, luaopen_coroutine }, { LUA_TABLIBNAME, luaopen_table },
	{ LUA_STRLIBNAME, luaopen_string }, { LUA_UTF8LIBNAME, luaopen_utf8 },
}, lazy_libs[] = {
	{ LUA_MATHLIBNAME, luaopen_math }, { LUA_OSLIBNAME, luaopen_os },
	{ LUA_IOLIBNAME, luaopen_io }, { LUA_DBLIBNAME, luaopen_debug },
};

/* _G's __index: a lazy library is opened the first time it is named. */
static int open_lazy(lua_State *L)
{
	const char *name = lua_tostring(L, 2);
	for (size_t i = 0; name && i < sizeof(lazy_libs) / sizeof(*lazy_libs); i++)
		if (strcmp(name, lazy_libs[i].name) == 0) {
			luaL_requiref(L, name, lazy_libs[i].open, 1);
			return 1;
		}
	return 0;
}

static void open_libs(lua_State *L)
{
	for (size_t i = 0; i < sizeof(eager_libs) / sizeof(*eager_libs); i++) {
		luaL_requiref(L, eager_libs[i].name, eager_libs[i].open, 1);
		lua_pop(L, 1);
	}
	luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
	for (size_t i = 0; i < sizeof(lazy_libs) / sizeof(*lazy_libs); i++) {
		lua_pushcfunction(L, lazy_libs[i].open);
		lua_setfield(L, -2, lazy_libs[i].name);
	}
	lua_pushcfunction(L, wisp_lua_open);
	lua_setfield(L, -2, "wisp");
	lua_pop(L, 1);
	lua_pushglobaltable(L);
	lua_newtable(L);
	lua_pushcfunction(L, open_lazy);
	lua_setfield(L, -2, "__index");
	lua_setmetatable(L, -2);
	lua_pop(L, 1);
}

/* The config's lua_path, then the libraries and services that ship. */
static const char *lua_path(void)
{
	static char path[4096];
	const struct wisp_config *cfg = wisp_node_config();
	const char *own = cfg && cfg->lua_path ? cfg->lua_path : NULL;
	snprintf(path, sizeof(path), "%s%s%s", own ? own : "", own ? ";" : "",
		WISP_LUA_PATH);
	return path;
}

/* Scripts compiled once per node, kept as bytecode. */
struct script {
	struct script *next;
	char *name;
	char *code;
	size_t size;
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

static struct script *compile(lua_State *L, const char *name, char *err,
	size_t errsz)
{
	char file[1024], slashed[128];
	snprintf(slashed, sizeof(slashed), "%s", name);
	for (char *c = slashed; *c; c++)
		if (*c == '.')
			*c = '/';
	if (wisp_path_search(lua_path(), slashed, file, sizeof(file)) < 0) {
		snprintf(err, errsz, "script '%s' not found on the lua path '%.700s'",
			name, lua_path());
		return NULL;
	}
	if (luaL_loadfilex(L, file, "t") != LUA_OK) {
		snprintf(err, errsz, "%s", lua_tostring(L, -1));
		return NULL;
	}
	struct script *s = wisp_malloc(sizeof(*s));
	memset(s, 0, sizeof(*s));
	lua_dump(L, dump_writer, s, 0);
	lua_pop(L, 1);
	s->name = wisp_strdup(name);
	s->next = scripts;
	scripts = s;
	return s;
}

/* Pushes the script's main chunk. */
static int load_script(struct host *h, const char *name, char *err,
	size_t errsz)
{
	struct script *s = scripts;
	while (s && strcmp(s->name, name) != 0)
		s = s->next;
	if (s == NULL && (s = compile(h->L, name, err, errsz)) == NULL)
		return -1;
	if (luaL_loadbufferx(h->L, s->code, s->size, name, "b") != LUA_OK) {
		snprintf(err, errsz, "%s", lua_tostring(h->L, -1));
		return -1;
	}
	return 0;
}

static void new_state(struct host *h)
{
	const struct wisp_config *cfg = wisp_node_config();
	h->mem_limit = cfg ? cfg->lua_memory_limit : 0;
	h->budget_ms = cfg ? cfg->lua_budget_ms : 5000;
	h->call_timeout_ms = cfg ? cfg->call_timeout_ms : 10000;
	h->L = lua_newstate(lalloc, h);
	h->main_task.host = h;
	h->main_task.co = h->L;
	*(struct task **)lua_getextraspace(h->L) = &h->main_task;
	h->current = &h->main_task;
	lua_sethook(h->L, budget_hook, LUA_MASKCOUNT, HOOK_EVERY);
	open_libs(h->L);
	lua_getglobal(h->L, LUA_LOADLIBNAME);
	lua_pushstring(h->L, lua_path());
	lua_setfield(h->L, -2, "path");
	lua_pop(h->L, 1);
	lua_newtable(h->L);
	h->waits_ref = luaL_ref(h->L, LUA_REGISTRYINDEX);
	lua_newtable(h->L);
	h->handlers_ref = luaL_ref(h->L, LUA_REGISTRYINDEX);
	h->start_ref = LUA_NOREF;
	h->deferred_tail = &h->deferred;
	h->owed.next = h->owed.prev = &h->owed;
}

/* A service started by wisp.newservice: its arguments and who waits. */
static struct {
	int active;
	wisp_handle parent;
	int session;
	void *args;
	size_t size;
} spawn;

wisp_handle wisp_lua_spawn(struct host *parent, const char *name, void *args,
	size_t sz, int session, char *err, size_t errsz)
{
	spawn.active = 1;
	spawn.parent = wisp_self(parent->ctx);
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

/* args: "script [words...]" */
static int lua_init(void *inst, struct wisp_context *ctx, const char *args)
{
	struct host *h = inst;
	char err[1024];
	size_t n = strcspn(args, " ");
	h->ctx = ctx;
	if (n == 0 || n >= sizeof(h->script))
		return wisp_fail(ctx, "the lua service wants \"script [args]\", got "
			"\"%s\"", args);
	memcpy(h->script, args, n);
	new_state(h);
	if (load_script(h, h->script, err, sizeof(err)) < 0)
		return wisp_fail(ctx, "%s", err);
	lua_setfield(h->L, LUA_REGISTRYINDEX, "wisp.main");
	wisp_set_callback(ctx, h, wisp_lua_dispatch);
	send_boot(h, args + n + (args[n] == ' '));
	return 0;
}

static void lua_release(void *inst)
{
	struct host *h = inst;
	wisp_lua_drop_deferred(h);
	if (h->L) {
		wisp_owed_fail_all(h);
		lua_close(h->L);
	}
	wisp_free(h);
}

const struct wisp_module wisp_lua_module = {
	.name = "lua",
	.create = lua_create,
	.init = lua_init,
	.release = lua_release,
};
