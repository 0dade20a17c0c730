/* dispatch.c: the Lua host's message callback. Requests start a task on
 * the handler registered for their type; answers and timers resume the
 * task waiting for their session; BOOT runs the script. Requests that come
 * before the script has started wait, in order, until it has. Values are
 * unpacked on the host's main stack, under pcall, then moved to the task. */
#include <lauxlib.h>
#include <stdio.h>
#include <string.h>
#include "host.h"
#include "service.h"
#include "value.h"

static int unpack_values(lua_State *L)
{
	const void *msg = lua_touserdata(L, 1);
	size_t sz = (size_t)lua_tointeger(L, 2);
	lua_settop(L, 0);
	return wisp_value_unpack(L, msg, sz);
}

/* Pushes the values packed in msg: their count, or -1 with the reason
 * pushed instead. */
static int push_values(lua_State *L, const void *msg, size_t sz)
{
	int base = lua_gettop(L);
	lua_pushcfunction(L, unpack_values);
	lua_pushlightuserdata(L, (void *)msg);
	lua_pushinteger(L, (lua_Integer)sz);
	if (lua_pcall(L, 2, LUA_MULTRET, 0) != LUA_OK)
		return -1;
	return lua_gettop(L) - base;
}

/* The arguments a handler of this type gets; -1 as push_values. */
static int push_args(lua_State *L, int type, wisp_handle source, void *msg,
	size_t sz)
{
	if (type == WISP_MSG_SOCKET) {
		const struct wisp_socket_msg *m = msg;
		lua_pushinteger(L, m->event);
		lua_pushinteger(L, m->id);
		lua_pushinteger(L, m->ud);
		lua_pushlstring(L, m->data, m->size);
		return 4;
	}
	if (type == WISP_MSG_EXIT)
		return 0;
	lua_pushinteger(L, source);
	if (type == WISP_MSG_LUA || type == WISP_MSG_BOOT) {
		int n = push_values(L, msg, sz);
		return n < 0 ? -1 : n + 1;
	}
	if (msg)
		lua_pushlstring(L, msg, sz);
	return msg ? 2 : 1;
}

/* Moves the top n values of the host's stack (a function and its
 * arguments) onto a new task; NULL, with the reason pushed, if they do
 * not fit on its stack. */
static struct task *start_task(struct host *h, int n, int session,
	wisp_handle source)
{
	struct task *t = wisp_task_new(h);
	if (!lua_checkstack(t->co, n + LUA_MINSTACK)) {
		lua_pushstring(h->L, "too many values in one message");
		return NULL;
	}
	lua_xmove(h->L, t->co, n);
	t->source = source;
	t->session = session;
	if (session > 0)
		wisp_owed_add(h, &t->answer, source, session);
	return t;
}

static void unhandled(struct host *h, int type, int session,
	wisp_handle source)
{
	if (type == WISP_MSG_EXIT) { /* no exit handler: just go */
		wisp_exit(h->ctx);
		return;
	}
	wisp_log(h->ctx, WISP_LOG_WARN, "no handler for messages of type %d "
		"from :%08x", type, source);
	wisp_bounce(wisp_self(h->ctx), source, session, "service :%08x (%s) has "
		"no handler for messages of type %d", wisp_self(h->ctx), h->script,
		type);
}

static void bad_message(struct host *h, int session, wisp_handle source)
{
	lua_State *L = h->L;
	wisp_log(h->ctx, WISP_LOG_WARN, "bad message from :%08x: %s", source,
		lua_tostring(L, -1));
	if (session > 0)
		wisp_task_reply(h, source, session, 0, L, lua_gettop(L),
			lua_gettop(L));
}

static void on_request(struct host *h, int type, int session,
	wisp_handle source, void *msg, size_t sz)
{
	lua_State *L = h->L;
	int base = lua_gettop(L);
	lua_rawgeti(L, LUA_REGISTRYINDEX, h->handlers_ref);
	if (lua_rawgeti(L, -1, type) != LUA_TFUNCTION) {
		lua_settop(L, base);
		unhandled(h, type, session, source);
		return;
	}
	lua_remove(L, -2);
	if (push_args(L, type, source, msg, sz) < 0) {
		bad_message(h, session, source);
		lua_settop(L, base);
		return;
	}
	struct task *t = start_task(h, lua_gettop(L) - base, session, source);
	if (t == NULL) {
		bad_message(h, session, source);
		lua_settop(L, base);
		return;
	}
	wisp_task_run(h, t, lua_gettop(t->co) - 1);
}

/* Calls the main chunk with the arguments, then the function given to
 * wisp.start; the answer to BOOT is the service's handle. */
static int boot_started(lua_State *L, int status, lua_KContext k)
{
	(void)status; (void)k;
	lua_settop(L, 0);
	lua_pushinteger(L, wisp_self(wisp_lua_task(L)->host->ctx));
	return 1;
}

static int boot_chunk_done(lua_State *L, int status, lua_KContext k)
{
	(void)status; (void)k;
	struct host *h = wisp_lua_task(L)->host;
	if (h->start_ref == LUA_NOREF)
		return boot_started(L, LUA_OK, 0);
	lua_rawgeti(L, LUA_REGISTRYINDEX, h->start_ref);
	lua_callk(L, 0, 0, 0, boot_started);
	return boot_started(L, LUA_OK, 0);
}

static int boot_main(lua_State *L)
{
	lua_callk(L, lua_gettop(L) - 1, 0, 0, boot_chunk_done);
	return boot_chunk_done(L, LUA_OK, 0);
}

static void on_boot(struct host *h, wisp_handle source, int session,
	void *msg, size_t sz)
{
	lua_State *L = h->L;
	int base = lua_gettop(L);
	lua_pushcfunction(L, boot_main);
	lua_getfield(L, LUA_REGISTRYINDEX, "wisp.main");
	lua_pushnil(L); /* the chunk is needed once: let it go */
	lua_setfield(L, LUA_REGISTRYINDEX, "wisp.main");
	if (push_values(L, msg, sz) < 0) {
		bad_message(h, session, source);
		lua_settop(L, base);
		wisp_exit(h->ctx);
		return;
	}
	struct task *t = start_task(h, lua_gettop(L) - base, session, source);
	if (t == NULL) {
		bad_message(h, session, source);
		lua_settop(L, base);
		wisp_exit(h->ctx);
		return;
	}
	t->boot = 1;
	wisp_task_run(h, t, lua_gettop(t->co) - 1);
}

/* A task's call was answered: resume it with true and the values, or
 * false and the reason. An answer nobody waits for (its call timed out)
 * is dropped. */
static void on_answer(struct host *h, int session, int ok, void *msg,
	size_t sz)
{
	struct task *t = wisp_task_waiting(h, session);
	if (t == NULL)
		return;
	wisp_task_wait(h, session, NULL);
	if (t->timer_session)
		wisp_task_wait(h, t->timer_session, NULL);
	t->timer_session = 0;
	lua_State *L = h->L;
	int base = lua_gettop(L);
	lua_pushboolean(L, ok);
	if (!ok) {
		lua_pushliteral(L, "failed: ");
		lua_pushlstring(L, msg ? msg : "", msg ? sz : 0);
		lua_concat(L, 2);
	} else if (push_values(L, msg, sz) < 0) { /* reason pushed */
		lua_pushboolean(L, 0);
		lua_replace(L, base + 1);
	}
	int n = lua_gettop(L) - base;
	if (!lua_checkstack(t->co, n + LUA_MINSTACK)) {
		lua_settop(L, base);
		lua_pushboolean(L, 0);
		lua_pushstring(L, "too many values in the answer");
		n = 2;
	}
	lua_xmove(L, t->co, n);
	wisp_task_run(h, t, n);
}

static void on_timer(struct host *h, int session)
{
	struct task *t = wisp_task_waiting(h, session);
	if (t == NULL)
		return;
	wisp_task_wait(h, session, NULL);
	if (t->wait == WAIT_CALL && t->timer_session == session) {
		wisp_task_wait(h, t->wait_session, NULL);
		t->timer_session = 0;
		lua_pushboolean(t->co, 0);
		lua_pushfstring(t->co, "timed out after %d ms", (int)t->timeout_ms);
		wisp_task_run(h, t, 2);
	} else if (t->wait == WAIT_TIMEOUT) {
		wisp_task_run(h, t, lua_gettop(t->co) - 1); /* its first run */
	} else {
		wisp_task_run(h, t, 0);
	}
}

static int defer(struct host *h, int type, int session, wisp_handle source,
	void *msg, size_t sz)
{
	struct deferred *d = wisp_malloc(sizeof(*d));
	*d = (struct deferred){ NULL, type, session, source, msg, sz };
	*h->deferred_tail = d;
	h->deferred_tail = &d->next;
	return 1; /* keeps msg */
}

static struct deferred *next_deferred(struct host *h)
{
	struct deferred *d = h->deferred;
	h->deferred = d->next;
	if (h->deferred == NULL)
		h->deferred_tail = &h->deferred;
	return d;
}

static void replay_deferred(struct host *h)
{
	while (h->deferred && !h->ctx->dead) {
		struct deferred *d = next_deferred(h);
		on_request(h, d->type, d->session, d->source, d->data, d->size);
		wisp_free(d->data);
		wisp_free(d);
	}
}

void wisp_lua_drop_deferred(struct host *h)
{
	while (h->deferred) {
		struct deferred *d = next_deferred(h);
		if (wisp_is_request(d->type))
			wisp_bounce(wisp_self(h->ctx), d->source, d->session,
				"service :%08x (%s) exited before it started",
				wisp_self(h->ctx), h->script);
		wisp_free(d->data);
		wisp_free(d);
	}
}

int wisp_lua_dispatch(struct wisp_context *ctx, void *ud, int type,
	int session, wisp_handle source, void *msg, size_t sz)
{
	(void)ctx;
	struct host *h = ud;
	switch (type) {
	case WISP_MSG_RESPONSE:
	case WISP_MSG_ERROR:
		on_answer(h, session, type == WISP_MSG_RESPONSE, msg, sz);
		break;
	case WISP_MSG_TIMER:
		on_timer(h, session);
		break;
	case WISP_MSG_BOOT:
		on_boot(h, source, session, msg, sz);
		break;
	default:
		if (!h->started)
			return defer(h, type, session, source, msg, sz);
		on_request(h, type, session, source, msg, sz);
	}
	if (h->started && h->deferred)
		replay_deferred(h);
	return 0;
}
