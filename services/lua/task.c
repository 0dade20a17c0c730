/* task.c: tasks, the coroutines that run a Lua service's handlers. A task
 * runs until its handler returns, fails or waits; a waiting task is found
 * again by the session it waits for (the waits table). Finished tasks go
 * back to a pool, so a message costs no new coroutine. Tasks woken or
 * forked while another runs are queued and run once it yields. */
#include <lauxlib.h>
#include <stdio.h>
#include <string.h>
#include "host.h"
#include "log.h"
#include "service.h"
#include "trace.h"
#include "value.h"

/* As many as a busy service runs at once: the db service's writes each
 * wait for PostgreSQL, 100 at a time under 100 callers, and with a pool
 * of 16 half its writes made a coroutine and left one to the GC. A
 * pooled task holds about 1 KB, only once that many ran together. */
#define POOL_MAX 256

void wisp_owed_add(struct host *h, struct owed *o, wisp_handle to,
	int session)
{
	o->to = to;
	o->session = session;
	o->next = h->owed.next;
	o->prev = &h->owed;
	h->owed.next->prev = o;
	h->owed.next = o;
}

int wisp_owed_pending(const struct owed *o)
{
	return o->next != NULL;
}

void wisp_owed_settle(struct owed *o)
{
	if (o->next == NULL)
		return;
	o->prev->next = o->next;
	o->next->prev = o->prev;
	o->next = o->prev = NULL;
}

void wisp_owed_fail_all(struct host *h)
{
	while (h->owed.next != &h->owed) {
		struct owed *o = h->owed.next;
		wisp_owed_settle(o);
		wisp_bounce(wisp_self(h->ctx), o->to, o->session, "service :%08x "
			"(%s) exited before answering", wisp_self(h->ctx), h->script);
	}
}

struct task *wisp_task_new(struct host *h)
{
	struct task *t = h->free_tasks;
	if (t) {
		h->free_tasks = t->next;
		h->free_count--;
	} else {
		t = lua_newuserdatauv(h->L, sizeof(*t), 1);
		memset(t, 0, sizeof(*t));
		t->host = h;
		t->co = lua_newthread(h->L);
		*(struct task **)lua_getextraspace(t->co) = t;
		lua_setiuservalue(h->L, -2, 1); /* the task keeps its thread */
		t->ref = luaL_ref(h->L, LUA_REGISTRYINDEX);
	}
	t->next = NULL;
	t->source = 0;
	t->session = 0;
	t->answer.next = t->answer.prev = NULL;
	t->boot = 0;
	t->wait = WAIT_NONE;
	t->wait_session = 0;
	t->deadline_ms = 0;
	t->call_ticks = 0;
	t->origin = t->trace = wisp_trace();
	return t;
}

void wisp_task_recycle(struct host *h, struct task *t)
{
	if (h->free_count >= POOL_MAX || lua_status(t->co) != LUA_OK) {
		luaL_unref(h->L, LUA_REGISTRYINDEX, t->ref); /* the GC takes it */
		return;
	}
	lua_settop(t->co, 0);
	t->next = h->free_tasks;
	h->free_tasks = t;
	h->free_count++;
}

void wisp_task_wait(struct host *h, int session, struct task *t)
{
	if (t)
		wisp_keymap_put(&h->waits, (uint32_t)session, t);
	else
		wisp_keymap_remove(&h->waits, (uint32_t)session);
}

struct task *wisp_task_waiting(struct host *h, int session)
{
	return wisp_keymap_get(&h->waits, (uint32_t)session);
}

void wisp_task_ready(struct host *h, struct task *t, int nargs)
{
	t->nargs = nargs;
	t->wait = WAIT_NONE;
	t->next = NULL;
	if (h->ready_tail)
		h->ready_tail->next = t;
	else
		h->ready_head = t;
	h->ready_tail = t;
}

/* Called as send_reply(to, session, values...): packs the values and
 * sends them as the answer. A plain C function, so a reply allocates no
 * closure. */
static int send_reply(lua_State *L)
{
	struct host *h = wisp_lua_task(L)->host;
	wisp_handle to = (wisp_handle)lua_tointeger(L, 1);
	int session = (int)lua_tointeger(L, 2);
	size_t sz;
	void *msg = wisp_value_pack(L, 3, lua_gettop(L), &sz);
	wisp_send(h->ctx, to, WISP_MSG_RESPONSE, session, msg, sz);
	return 0;
}

static void send_error(struct host *h, wisp_handle to, int session,
	const char *text)
{
	wisp_send(h->ctx, to, WISP_MSG_ERROR, session, wisp_strdup(text),
		strlen(text));
}

void wisp_task_answer(struct host *h, wisp_handle to, int session,
	lua_State *L, int from, int to_index)
{
	size_t sz;
	void *msg = wisp_value_pack(L, from, to_index, &sz);
	wisp_send(h->ctx, to, WISP_MSG_RESPONSE, session, msg, sz);
}

/* Answers a call with L[from..to] (ok) or with the error text at from. A
 * value that cannot be packed turns the answer into an error. */
void wisp_task_reply(struct host *h, wisp_handle to, int session, int ok,
	lua_State *L, int from, int to_index)
{
	if (!ok) {
		const char *text = lua_tostring(L, from);
		send_error(h, to, session, text ? text : "error object is not a string");
		return;
	}
	int n = to_index - from + 1;
	lua_pushcfunction(L, send_reply);
	lua_pushinteger(L, to);
	lua_pushinteger(L, session);
	lua_rotate(L, from, 3); /* under the values */
	if (lua_pcall(L, n + 2, 0, 0) != LUA_OK) {
		wisp_log(h->ctx, WISP_LOG_ERROR, "cannot send the reply: %s",
			lua_tostring(L, -1));
		send_error(h, to, session, lua_tostring(L, -1));
		lua_pop(L, 1);
	}
}

/* Whether L[from..to] are all nil, booleans, numbers or strings: values
 * that pack without any chance of an error. */
static int all_scalars(lua_State *L, int from, int to)
{
	for (int i = from; i <= to; i++) {
		int type = lua_type(L, i);
		if (type > LUA_TSTRING || type == LUA_TLIGHTUSERDATA)
			return 0;
	}
	return 1;
}

/* The handler's results answer the call. Scalars are packed at once; other
 * values go through a protected pack, as one of them may not pack. */
static void answer_results(struct host *h, struct task *t, int nres)
{
	int top = lua_gettop(t->co), from = top - nres + 1;
	wisp_owed_settle(&t->answer);
	if (all_scalars(t->co, from, top))
		wisp_task_answer(h, t->source, t->session, t->co, from, top);
	else
		wisp_task_reply(h, t->source, t->session, 1, t->co, from, top);
}

static void finished(struct host *h, struct task *t, int nres)
{
	if (wisp_owed_pending(&t->answer))
		answer_results(h, t, nres);
	if (t->boot)
		h->started = 1;
	wisp_task_recycle(h, t);
}

static void failed(struct host *h, struct task *t)
{
	const char *msg = lua_tostring(t->co, -1);
	char place[LUA_IDSIZE + 16]; /* where it failed: flood control's place */
	wisp_lua_where(t->co, 0, place, sizeof(place));
	luaL_traceback(h->L, t->co, msg ? msg : "(error object is not a string)", 0);
	wisp_log_at(h->ctx, WISP_LOG_ERROR, place, "%s", lua_tostring(h->L, -1));
	lua_pop(h->L, 1);
	h->errors++;
	if (wisp_owed_pending(&t->answer)) {
		wisp_owed_settle(&t->answer);
		wisp_task_reply(h, t->source, t->session, 0, t->co, lua_gettop(t->co),
			lua_gettop(t->co));
	}
	if (t->boot) { /* a service that cannot start cannot serve */
		wisp_log(h->ctx, WISP_LOG_ERROR, "%s failed to start", h->script);
		if (h->essential) { /* nor can a node without it */
			fprintf(stderr, "wisp: service %s failed to start: %s\n",
				h->script, msg ? msg : "(error object is not a string)");
			wisp_shutdown(1);
		}
		wisp_exit(h->ctx);
	}
	wisp_task_recycle(h, t);
}

/* Waiting for a call's answer, it keeps the call's trace; waiting for
 * anything else (a timer, a wakeup), it goes back to its message's. */
static void suspended(struct task *t, int nres)
{
	t->trace = t->wait == WAIT_CALL ? wisp_trace() : t->origin;
	lua_pop(t->co, nres); /* it said what it waits for before yielding */
}

static void resume(struct host *h, struct task *t, int nargs)
{
	struct task *was = h->current;
	uint64_t outer = wisp_trace();
	int nres;
	h->current = t;
	h->enforce_limit = 1;
	wisp_trace_adopt(t->trace);
	wisp_watchdog_begin(t->co, h->budget_ms);
	int status = lua_resume(t->co, h->L, nargs, &nres);
	wisp_watchdog_end(t->co);
	h->enforce_limit = 0;
	h->current = was;
	/* its answer and its error are sent and logged in its trace */
	if (status == LUA_OK)
		finished(h, t, nres);
	else if (status == LUA_YIELD)
		suspended(t, nres);
	else
		failed(h, t);
	wisp_trace_swap(outer);
}

/* Runs t, then whatever it woke or forked, in order. */
void wisp_task_run(struct host *h, struct task *t, int nargs)
{
	resume(h, t, nargs);
	while (h->ready_head) {
		struct task *next = h->ready_head;
		h->ready_head = next->next;
		if (h->ready_head == NULL)
			h->ready_tail = NULL;
		resume(h, next, next->nargs);
	}
	h->ctx->memory = h->mem;
}
