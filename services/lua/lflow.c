/* lflow.c: the `wisp` Lua module, flow and node part: sleeping, timers,
 * forks, wait and wakeup, the lock of wisp.queue, time, logs, env and
 * stats; and the table that puts the module together. */
#include <lauxlib.h>
#include <string.h>
#include "host.h"
#include "log.h"
#include "service.h"

static uint32_t check_ms(lua_State *L, int idx)
{
	lua_Integer ms = luaL_checkinteger(L, idx);
	luaL_argcheck(L, ms >= 0 && ms <= 0x7fffffff, idx, "a time in ms expected");
	return (uint32_t)ms;
}

static int l_sleep(lua_State *L)
{
	struct task *t = wisp_lua_need_task(L, "wisp.sleep");
	struct host *h = t->host;
	int session = wisp_new_session(h->ctx);
	wisp_timeout(h->ctx, check_ms(L, 1), session);
	t->wait = WAIT_SLEEP;
	t->wait_session = session;
	wisp_task_wait(h, session, t);
	return lua_yield(L, 0);
}

/* Moves fn and its arguments (from idx up) onto a new task. */
static struct task *new_task_with(lua_State *L, struct host *h, int idx)
{
	luaL_checktype(L, idx, LUA_TFUNCTION);
	struct task *t = wisp_task_new(h);
	int n = lua_gettop(L) - idx + 1;
	if (!lua_checkstack(t->co, n + LUA_MINSTACK))
		luaL_error(L, "too many arguments");
	lua_xmove(L, t->co, n);
	return t;
}

static int l_timeout(lua_State *L)
{
	struct host *h = wisp_lua_task(L)->host;
	uint32_t ms = check_ms(L, 1);
	lua_settop(L, 2);
	struct task *t = new_task_with(L, h, 2);
	int session = wisp_new_session(h->ctx);
	t->wait = WAIT_TIMEOUT;
	t->wait_session = session;
	wisp_task_wait(h, session, t);
	wisp_timeout(h->ctx, ms, session);
	return 0;
}

static int l_fork(lua_State *L)
{
	struct host *h = wisp_lua_task(L)->host;
	struct task *t = new_task_with(L, h, 1);
	wisp_task_ready(h, t, lua_gettop(t->co) - 1);
	lua_pushthread(t->co);
	lua_xmove(t->co, L, 1);
	return 1;
}

/* when_idle(fn): fn runs in a task of its own once the messages queued
 * for this service are all served: how a service does once, for a burst
 * of requests, what each asked for (a group commit, one batched read). */
static int l_when_idle(lua_State *L)
{
	struct host *h = wisp_lua_task(L)->host;
	luaL_checktype(L, 1, LUA_TFUNCTION);
	lua_rawgeti(L, LUA_REGISTRYINDEX, h->handlers_ref);
	if (lua_getfield(L, -1, "idle") != LUA_TTABLE) {
		lua_pop(L, 1);
		lua_newtable(L);
		lua_pushvalue(L, -1);
		lua_setfield(L, -3, "idle");
	}
	lua_pushvalue(L, 1);
	lua_rawseti(L, -2, luaL_len(L, -2) + 1);
	lua_pop(L, 2);
	h->idle_pending = 1;
	return 0;
}

void wisp_lua_run_idle(struct host *h)
{
	lua_State *L = h->L;
	h->idle_pending = 0;
	lua_rawgeti(L, LUA_REGISTRYINDEX, h->handlers_ref);
	lua_getfield(L, -1, "idle");
	lua_pushnil(L);
	lua_setfield(L, -3, "idle");
	lua_Integer n = luaL_len(L, -1);
	struct task *first = NULL;
	for (lua_Integer i = 1; i <= n; i++) {
		struct task *t = wisp_task_new(h);
		lua_rawgeti(L, -1, i);
		lua_xmove(L, t->co, 1);
		if (first)
			wisp_task_ready(h, t, 0);
		else
			first = t;
	}
	lua_pop(L, 2);
	if (first)
		wisp_task_run(h, first, 0);
}

static int l_wait(lua_State *L)
{
	struct task *t = wisp_lua_need_task(L, "wisp.wait");
	t->wait = WAIT_WAKEUP;
	return lua_yield(L, 0);
}

static int l_wakeup(lua_State *L)
{
	struct host *h = wisp_lua_task(L)->host;
	luaL_checktype(L, 1, LUA_TTHREAD);
	struct task *t = wisp_lua_task(lua_tothread(L, 1));
	int waiting = t->host == h && t != &h->main_task
		&& t->wait == WAIT_WAKEUP;
	if (waiting)
		wisp_task_ready(h, t, 0);
	lua_pushboolean(L, waiting);
	return 1;
}

/* wisp.queue(): the constructor lives in wisp/queue.lua, loaded on use. */
static int l_queue(lua_State *L)
{
	lua_getglobal(L, "require");
	lua_pushliteral(L, "wisp.queue");
	lua_call(L, 1, 1);
	lua_call(L, 0, 1);
	return 1;
}

static int l_now(lua_State *L)
{
	lua_pushinteger(L, (lua_Integer)wisp_now());
	return 1;
}

static int l_getenv(lua_State *L)
{
	const char *value = wisp_getenv(luaL_checkstring(L, 1));
	if (value)
		lua_pushstring(L, value);
	else
		lua_pushnil(L);
	return 1;
}

void wisp_lua_where(lua_State *L, int level, char *buf, size_t sz)
{
	lua_Debug ar;
	for (; lua_getstack(L, level, &ar); level++) {
		lua_getinfo(L, "Sl", &ar);
		if (ar.currentline > 0) {
			snprintf(buf, sz, "%s:%d", ar.short_src, ar.currentline);
			return;
		}
	}
	snprintf(buf, sz, "?");
}

/* wisp.log(...) and friends: the arguments as tostring shows them, joined
 * by spaces. The caller's line is the place flood control counts. */
static int log_at(lua_State *L, int level)
{
	struct host *h = wisp_lua_task(L)->host;
	char place[LUA_IDSIZE + 16];
	if (level < wisp_log_level())
		return 0; /* not even worth the text */
	wisp_lua_where(L, 1, place, sizeof(place));
	int n = lua_gettop(L);
	luaL_Buffer b;
	luaL_buffinit(L, &b);
	for (int i = 1; i <= n; i++) {
		luaL_tolstring(L, i, NULL);
		luaL_addvalue(&b);
		if (i < n)
			luaL_addchar(&b, ' ');
	}
	luaL_pushresult(&b);
	wisp_log_at(h->ctx, level, place, "%s", lua_tostring(L, -1));
	return 0;
}

static int l_log(lua_State *L) { return log_at(L, WISP_LOG_INFO); }
static int l_log_debug(lua_State *L) { return log_at(L, WISP_LOG_DEBUG); }
static int l_log_warn(lua_State *L) { return log_at(L, WISP_LOG_WARN); }
static int l_log_error(lua_State *L) { return log_at(L, WISP_LOG_ERROR); }

/* A Lua service's part of its stats: its script, and its memory as its
 * allocator counts it now (the runtime's count lags by a handler). */
void wisp_lua_stats(void *inst, struct wisp_service_stats *s)
{
	const struct host *h = inst;
	s->what = h->script;
	s->memory = h->mem;
	s->errors = h->errors;
}

void wisp_lua_set_stats(lua_State *L, const struct wisp_service_stats *s)
{
	wisp_lua_set_int(L, "handled", (lua_Integer)s->handled);
	wisp_lua_set_int(L, "mailbox", s->mailbox);
	wisp_lua_set_int(L, "mailbox_peak", s->mailbox_peak);
	wisp_lua_set_int(L, "errors", (lua_Integer)s->errors);
	wisp_lua_set_int(L, "refused", (lua_Integer)s->refused);
	lua_pushnumber(L, (double)s->cpu_ns / 1e6);
	lua_setfield(L, -2, "cpu_ms");
	wisp_lua_set_int(L, "memory", (lua_Integer)s->memory);
}

/* stats([addr]): messages handled, mailbox length, CPU ms, memory bytes. */
static int l_stats(lua_State *L)
{
	struct host *h = wisp_lua_task(L)->host;
	wisp_handle target = lua_isnoneornil(L, 1) ? wisp_self(h->ctx)
		: (wisp_handle)luaL_checkinteger(L, 1);
	struct wisp_service_stats s;
	if (wisp_service_stats(target, &s) < 0)
		return 0;
	lua_createtable(L, 0, 5);
	wisp_lua_set_stats(L, &s);
	return 1;
}

static int l_memory_limit(lua_State *L)
{
	struct host *h = wisp_lua_task(L)->host;
	lua_Integer bytes = luaL_checkinteger(L, 1);
	luaL_argcheck(L, bytes >= 0, 1, "a size in bytes (0 for none) expected");
	h->mem_limit = (size_t)bytes;
	h->ctx->memory_limit = h->mem_limit;
	return 0;
}

/* mailbox_limit(messages, bytes): this service's mailbox limits. */
static int l_mailbox_limit(lua_State *L)
{
	struct host *h = wisp_lua_task(L)->host;
	lua_Integer messages = luaL_checkinteger(L, 1);
	lua_Integer bytes = luaL_checkinteger(L, 2);
	luaL_argcheck(L, messages > 0 && messages <= UINT32_MAX, 1,
		"a count of messages (at least 1) expected");
	luaL_argcheck(L, bytes > 0, 2, "a size in bytes (at least 1) expected");
	wisp_mailbox_limit(h->ctx, (uint32_t)messages, (size_t)bytes);
	return 0;
}

/* shutdown([code]): stops the node in order; it exits with code. */
static int l_shutdown(lua_State *L)
{
	wisp_shutdown((int)luaL_optinteger(L, 1, 0));
	return 0;
}


static const luaL_Reg flow_funcs[] = {
	{ "sleep", l_sleep }, { "timeout", l_timeout }, { "fork", l_fork },
	{ "wait", l_wait }, { "wakeup", l_wakeup }, { "queue", l_queue },
	{ "when_idle", l_when_idle },
	{ "now", l_now }, { "getenv", l_getenv }, { "stats", l_stats },
	{ "memory_limit", l_memory_limit }, { "mailbox_limit", l_mailbox_limit },
	{ "shutdown", l_shutdown },
	{ "log", l_log }, { "log_debug", l_log_debug }, { "log_warn", l_log_warn },
	{ "log_error", l_log_error }, { NULL, NULL },
};

static const luaL_Reg *const wisp_funcs[] = {
	wisp_lua_message_funcs, flow_funcs, wisp_lua_cluster_funcs,
	wisp_lua_place_funcs,
	wisp_lua_gate_funcs, wisp_lua_session_funcs, wisp_lua_reload_funcs, NULL,
};

/* The `wisp` module: a lazy table, as most services use a few of its
 * functions. */
int wisp_lua_open(lua_State *L)
{
	wisp_lua_lazy_table(L, wisp_funcs);
	return 1;
}
