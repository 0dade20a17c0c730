/* lwisp.c: the `wisp` Lua module, messaging part: sending and calling by
 * handle or name, replies, handlers, names and services. Calls suspend
 * the calling task; the continuation turns the answer into results or an
 * error that names the address. The rest of the module is in lflow.c. */
#include <lauxlib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "clock.h"
#include "handle.h"
#include "host.h"
#include "names.h"
#include "service.h"
#include "trace.h"
#include "value.h"

struct task *wisp_lua_need_task(lua_State *L, const char *what)
{
	struct task *t = wisp_lua_task(L);
	if (t == &t->host->main_task || t->co != L)
		luaL_error(L, "%s must run in a wisp task (a handler, the main chunk "
			"or wisp.fork), not in a plain coroutine", what);
	return t;
}

static void check_addr(lua_State *L, int idx)
{
	int type = lua_type(L, idx);
	if (type != LUA_TNUMBER && type != LUA_TSTRING)
		luaL_argerror(L, idx, "an address (handle or name) expected");
}

/* A handle for addr: a number, ":0040000a", or a local name; 0 if none. */
static wisp_handle resolve(lua_State *L, int idx)
{
	if (lua_type(L, idx) == LUA_TNUMBER)
		return (wisp_handle)lua_tointeger(L, idx);
	const char *s = lua_tostring(L, idx);
	if (s[0] == ':')
		return (wisp_handle)strtoul(s + 1, NULL, 16);
	return wisp_query(s);
}

int wisp_lua_send(struct host *h, lua_State *L, int idx, int type,
	int session, void *msg, size_t sz)
{
	if (lua_type(L, idx) == LUA_TSTRING && lua_tostring(L, idx)[0] != ':')
		return wisp_send_name(h->ctx, lua_tostring(L, idx), type, session,
			msg, sz);
	return wisp_send(h->ctx, resolve(L, idx), type, session, msg, sz);
}

/* ":0040000a": lua_pushfstring knows no widths. */
static const char *push_handle(lua_State *L, lua_Integer handle)
{
	char text[16];
	snprintf(text, sizeof(text), ":%08x", (unsigned)handle);
	return lua_pushstring(L, text);
}

static const char *addr_text(lua_State *L, int idx)
{
	if (lua_type(L, idx) == LUA_TNUMBER)
		return push_handle(L, lua_tointeger(L, idx));
	return lua_pushstring(L, lua_tostring(L, idx));
}

/* A send's results: true, or false and why ("overloaded" when the
 * destination's mailbox is full). */
static int sent(lua_State *L, int rc)
{
	lua_pushboolean(L, rc == 0);
	if (rc == 0)
		return 1;
	lua_pushstring(L, wisp_send_refusal());
	return 2;
}

static int l_send(lua_State *L)
{
	struct host *h = wisp_lua_task(L)->host;
	check_addr(L, 1);
	size_t sz;
	void *msg = wisp_value_pack(L, 2, lua_gettop(L), &sz);
	return sent(L, wisp_lua_send(h, L, 1, WISP_MSG_LUA_PACKED, 0, msg, sz));
}

/* rawsend(addr, type, data): bytes as they are, for C services. */
static int l_rawsend(lua_State *L)
{
	struct host *h = wisp_lua_task(L)->host;
	check_addr(L, 1);
	int type = wisp_lua_type(L, 2);
	size_t sz;
	const char *data = luaL_checklstring(L, 3, &sz);
	void *msg = memcpy(wisp_malloc(sz), data, sz);
	return sent(L, wisp_lua_send(h, L, 1, type, 0, msg, sz));
}

/* Resumed with (true, payload, size) or (false, reason) on top of the
 * stack the call left; k is that stack's height times 4 plus the kind.
 * The payload is still valid here: this runs as the task resumes. */
static int call_done(lua_State *L, int status, lua_KContext k)
{
	(void)status;
	int base = (int)(k >> 2);
	struct task *t = wisp_lua_task(L);
	if (t->call_ticks) { /* wisp.call's, not another wait's */
		uint64_t ticks = wisp_ticks() - t->call_ticks;
		wisp_calls_observe(L, 1, ticks);
		if (wisp_trace_slow_call_ms()) /* a clock read, only then */
			wisp_lua_slow_call(L, t, 1, wisp_ticks_ns(ticks));
		t->call_ticks = 0;
	}
	if (lua_toboolean(L, base + 1)) {
		const void *msg = lua_touserdata(L, base + 2);
		size_t sz = (size_t)lua_tointeger(L, base + 3);
		lua_settop(L, base);
		return wisp_value_unpack(L, msg, sz);
	}
	const char *why = lua_tostring(L, base + 2);
	switch (k & 3) {
	case AWAIT_SPAWN:
		return luaL_error(L, "service %s failed to start: %s",
			lua_tostring(L, 1), why);
	case AWAIT_SPAWN_AT:
		return luaL_error(L, "service %s failed to start on node %s: %s",
			lua_tostring(L, 2), lua_tostring(L, 1), why);
	case AWAIT_REGISTER:
		return luaL_error(L, "cannot register the cluster-wide name '%s': %s",
			lua_tostring(L, 1), why);
	default:
		return luaL_error(L, "call to %s %s", addr_text(L, 1), why);
	}
}

int wisp_lua_await(lua_State *L, struct task *t, int session, uint32_t ms,
	int kind)
{
	struct host *h = t->host;
	t->wait = WAIT_CALL;
	t->wait_session = session;
	wisp_task_wait(h, session, t);
	if (ms)
		wisp_calls_add(h, t, ms);
	lua_KContext k = ((lua_KContext)lua_gettop(L) << 2) | kind;
	return lua_yieldk(L, 0, k, call_done);
}

static int call(lua_State *L, uint32_t ms)
{
	struct task *t = wisp_lua_need_task(L, "wisp.call");
	check_addr(L, 1);
	size_t sz;
	void *msg = wisp_value_pack(L, 2, lua_gettop(L), &sz);
	int session = wisp_new_session(t->host->ctx);
	t->call_ticks = wisp_ticks();
	/* a failure to send comes back as an ERROR answer, like any other */
	wisp_lua_send(t->host, L, 1, WISP_MSG_LUA_PACKED, session, msg, sz);
	return wisp_lua_await(L, t, session, ms, AWAIT_CALL);
}

static int l_call(lua_State *L)
{
	return call(L, wisp_lua_task(L)->host->call_timeout_ms);
}

static int l_call_timeout(lua_State *L)
{
	lua_Integer ms = luaL_checkinteger(L, 1);
	luaL_argcheck(L, ms > 0 && ms <= 86400000, 1, "a timeout in ms expected");
	lua_remove(L, 1);
	return call(L, (uint32_t)ms);
}

/* The task whose answer is owed; raises if there is none. */
static struct task *replying_task(lua_State *L, const char *what)
{
	struct task *t = wisp_lua_need_task(L, what);
	if (t->session <= 0)
		luaL_error(L, "%s: the message being handled wants no answer", what);
	if (!wisp_owed_pending(&t->answer))
		luaL_error(L, "%s: this message was answered already", what);
	return t;
}

static int l_ret(lua_State *L)
{
	struct task *t = replying_task(L, "wisp.ret");
	wisp_task_answer(t->host, t->source, t->session, L, 1, lua_gettop(L));
	wisp_owed_settle(&t->answer);
	return 0;
}

/* A response not sent by the time it is collected is answered with an
 * error, so that its caller does not wait for its timeout. */
static int response_gc(lua_State *L)
{
	struct owed *o = lua_touserdata(L, 1);
	if (!wisp_owed_pending(o))
		return 0;
	wisp_owed_settle(o);
	struct host *h = wisp_lua_task(L)->host;
	wisp_bounce(wisp_self(h->ctx), o->to, o->session,
		"service :%08x (%s) dropped its response", wisp_self(h->ctx),
		h->script);
	return 0;
}

/* response()(ok, ...): answers later, once. */
static int respond(lua_State *L)
{
	struct host *h = wisp_lua_task(L)->host;
	struct owed *o = lua_touserdata(L, lua_upvalueindex(1));
	if (!wisp_owed_pending(o))
		return luaL_error(L, "this response was sent already");
	if (lua_toboolean(L, 1)) {
		wisp_task_answer(h, o->to, o->session, L, 2, lua_gettop(L));
	} else {
		if (!lua_isstring(L, 2)) {
			lua_settop(L, 1);
			lua_pushliteral(L, "error");
		}
		wisp_task_reply(h, o->to, o->session, 0, L, 2, 2);
	}
	wisp_owed_settle(o);
	return 0;
}

static void send_packed(struct host *h, wisp_handle to, int session,
	const char *s, size_t sz)
{
	wisp_send(h->ctx, to, WISP_MSG_RESPONSE, session,
		memcpy(wisp_malloc(sz), s, sz), sz);
}

/* ret_packed(s): answers the current call with s, values packed by
 * wisp.pack: a service that keeps values packed (a cache) answers without
 * packing them again. The caller unpacks s as any answer. */
static int l_ret_packed(lua_State *L)
{
	size_t sz;
	const char *s = luaL_checklstring(L, 1, &sz);
	struct task *t = replying_task(L, "wisp.ret_packed");
	send_packed(t->host, t->source, t->session, s, sz);
	wisp_owed_settle(&t->answer);
	return 0;
}

/* respond_packed(respond, s): as ret_packed, for a response taken with
 * wisp.response. */
static int l_respond_packed(lua_State *L)
{
	size_t sz;
	const char *s = luaL_checklstring(L, 2, &sz);
	luaL_argcheck(L, lua_tocfunction(L, 1) == respond, 1,
		"not a response (from wisp.response)");
	lua_getupvalue(L, 1, 1);
	struct owed *o = lua_touserdata(L, -1);
	if (!wisp_owed_pending(o))
		return luaL_error(L, "this response was sent already");
	send_packed(wisp_lua_task(L)->host, o->to, o->session, s, sz);
	wisp_owed_settle(o);
	return 0;
}

static int l_response(lua_State *L)
{
	struct task *t = replying_task(L, "wisp.response");
	wisp_owed_settle(&t->answer); /* the response owes it now */
	struct owed *o = lua_newuserdatauv(L, sizeof(*o), 0);
	memset(o, 0, sizeof(*o));
	if (luaL_newmetatable(L, "wisp.response")) {
		lua_pushcfunction(L, response_gc);
		lua_setfield(L, -2, "__gc");
	}
	lua_setmetatable(L, -2);
	wisp_owed_add(t->host, o, t->source, t->session);
	lua_pushcclosure(L, respond, 1);
	return 1;
}

int wisp_lua_type(lua_State *L, int idx)
{
	static const char *const names[] = { "text", "lua", "exit", "socket",
		NULL };
	static const int types[] = { WISP_MSG_TEXT, WISP_MSG_LUA, WISP_MSG_EXIT,
		WISP_MSG_SOCKET };
	if (lua_type(L, idx) == LUA_TNUMBER) {
		lua_Integer t = lua_tointeger(L, idx);
		luaL_argcheck(L, t >= WISP_MSG_USER && t <= 255, idx,
			"a user message type is from 16 to 255");
		return (int)t;
	}
	return types[luaL_checkoption(L, idx, NULL, names)];
}

static int l_dispatch(lua_State *L)
{
	struct host *h = wisp_lua_task(L)->host;
	int type = wisp_lua_type(L, 1);
	if (!lua_isnil(L, 2))
		luaL_checktype(L, 2, LUA_TFUNCTION);
	lua_rawgeti(L, LUA_REGISTRYINDEX, h->handlers_ref);
	lua_pushvalue(L, 2);
	lua_rawseti(L, -2, type);
	if (type == WISP_MSG_LUA) {
		luaL_unref(L, LUA_REGISTRYINDEX, h->lua_handler_ref);
		lua_pushvalue(L, 2);
		h->lua_handler_ref = luaL_ref(L, LUA_REGISTRYINDEX); /* nil: NOREF */
	}
	return 0;
}

static int l_start(lua_State *L)
{
	struct host *h = wisp_lua_task(L)->host;
	luaL_checktype(L, 1, LUA_TFUNCTION);
	if (h->reloading) /* a hot update: the service started long ago */
		return 0;
	if (h->started || h->start_ref != LUA_NOREF)
		return luaL_error(L, "wisp.start: the service has started already");
	lua_settop(L, 1);
	h->start_ref = luaL_ref(L, LUA_REGISTRYINDEX);
	return 0;
}

/* Starts the script as a new service and waits until its start is done. */
static int spawn(lua_State *L, const char *unique_name)
{
	struct task *t = wisp_lua_need_task(L, "wisp.newservice");
	const char *name = luaL_checkstring(L, 1);
	size_t sz;
	void *args = wisp_value_pack(L, 2, lua_gettop(L), &sz);
	int session = wisp_new_session(t->host->ctx);
	char err[1024];
	wisp_handle started = wisp_lua_spawn(wisp_self(t->host->ctx), name, args,
		sz, session, err, sizeof(err));
	if (started == 0)
		return luaL_error(L, "service %s failed to start: %s", name, err);
	if (unique_name) /* named before anyone can look again */
		wisp_register(wisp_handle_grab(started), unique_name);
	return wisp_lua_await(L, t, session, t->host->call_timeout_ms,
		AWAIT_SPAWN);
}

int wisp_lua_newservice(lua_State *L)
{
	return spawn(L, NULL);
}

/* The new service answers source itself, as if source had called
 * newservice here; its arguments are copied out of msg, which the runtime
 * frees after this message. */
void wisp_lua_launch(struct host *h, wisp_handle source, int session,
	const void *msg, size_t sz)
{
	wisp_handle self = wisp_self(h->ctx);
	const char *end = msg ? memchr(msg, '\0', sz) : NULL;
	size_t n = end ? (size_t)(end - (const char *)msg) : 0;
	if (!h->accepts_spawns) {
		wisp_bounce(self, source, session, "service :%08x (%s) starts no "
			"services for other nodes", self, h->script);
		return;
	}
	if (n == 0 || n >= sizeof(h->script) || memchr(msg, ' ', n)) {
		wisp_bounce(self, source, session, "a malformed request to start a "
			"service");
		return;
	}
	size_t args_sz = sz - n - 1;
	void *args = memcpy(wisp_malloc(args_sz ? args_sz : 1), end + 1, args_sz);
	char err[1024];
	if (wisp_lua_spawn(source, msg, args, args_sz, session, err,
			sizeof(err)) == 0)
		wisp_bounce(self, source, session, "%s", err);
}

/* The one instance of a script on this node; calls to it wait until it
 * has started. */
static int l_uniqueservice(lua_State *L)
{
	const char *name = luaL_checkstring(L, 1);
	char unique[WISP_NAME_MAX + 1];
	snprintf(unique, sizeof(unique), "unique.%s", name);
	wisp_handle found = wisp_query(unique);
	if (found) {
		lua_pushinteger(L, found);
		return 1;
	}
	return spawn(L, unique);
}

static int l_register(lua_State *L)
{
	struct host *h = wisp_lua_task(L)->host;
	const char *name = luaL_checkstring(L, 1);
	if (wisp_register(h->ctx, name) < 0)
		return luaL_error(L, "cannot register the name '%s': %s", name,
			wisp_name_valid(name) ? "it is taken" : "names are 1 to 63 "
			"characters of A-Z a-z 0-9 _ . -");
	return 0;
}

static int l_query(lua_State *L)
{
	wisp_handle found = wisp_query(luaL_checkstring(L, 1));
	if (found)
		lua_pushinteger(L, found);
	else
		lua_pushnil(L);
	return 1;
}

static int l_self(lua_State *L)
{
	lua_pushinteger(L, wisp_self(wisp_lua_task(L)->host->ctx));
	return 1;
}

static int l_address(lua_State *L)
{
	push_handle(L, luaL_checkinteger(L, 1));
	return 1;
}

static int l_exit(lua_State *L)
{
	struct task *t = wisp_lua_task(L);
	wisp_exit(t->host->ctx);
	if (t == &t->host->main_task || t->co != L || !lua_isyieldable(L))
		return 0;
	t->wait = WAIT_FOREVER; /* nothing of this service runs again */
	return lua_yield(L, 0);
}

static int l_kill(lua_State *L)
{
	struct host *h = wisp_lua_task(L)->host;
	check_addr(L, 1);
	wisp_handle target = resolve(L, 1);
	if (target == wisp_self(h->ctx))
		return l_exit(L);
	lua_pushboolean(L, target && wisp_kill(h->ctx, target) == 0);
	return 1;
}

static int l_pack(lua_State *L)
{
	size_t sz;
	void *packed = wisp_value_pack(L, 1, lua_gettop(L), &sz);
	lua_pushlstring(L, packed, sz);
	wisp_free(packed);
	return 1;
}

static int l_unpack(lua_State *L)
{
	size_t sz;
	const char *s = luaL_checklstring(L, 1, &sz);
	return wisp_value_unpack(L, s, sz);
}

const luaL_Reg wisp_lua_message_funcs[] = {
	{ "send", l_send }, { "rawsend", l_rawsend }, { "call", l_call }, { "call_timeout", l_call_timeout },
	{ "ret", l_ret }, { "ret_packed", l_ret_packed },
	{ "respond_packed", l_respond_packed },
	{ "response", l_response }, { "dispatch", l_dispatch },
	{ "start", l_start }, { "newservice", wisp_lua_newservice },
	{ "uniqueservice", l_uniqueservice }, { "register", l_register },
	{ "query", l_query }, { "self", l_self }, { "address", l_address },
	{ "exit", l_exit }, { "kill", l_kill }, { "pack", l_pack },
	{ "unpack", l_unpack }, { "trace", wisp_lua_trace }, { NULL, NULL },
};
