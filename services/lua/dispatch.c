/* dispatch.c: the Lua host's message callback. Requests start a task on
 * the handler registered for their type; answers and timers resume the
 * task waiting for their session; BOOT runs the script. Requests that come
 * before the script has started wait, in order, until it has. Values are
 * unpacked inside the task, or, when a Lua service of this node packed
 * them, straight onto its stack. Every message is served
 * under wisp_lua_guard, so that a Lua panic stops the node in order. */
#include <lauxlib.h>
#include <stdio.h>
#include <string.h>
#include "handle.h"
#include "host.h"
#include "service.h"
#include "trace.h"
#include "value.h"

/* The first function of a task serving a Lua message: unpacks the
 * message inside the task (so a bad one fails like a handler error) and
 * calls the handler with the source and the values; the handler's results
 * are the answer, packed here too, inside the task. The payload stays
 * valid until the task first yields, which is after the unpacking. */
static int handler_done(lua_State *L, int status, lua_KContext k)
{
	(void)status; (void)k;
	struct task *t = wisp_lua_task(L);
	if (wisp_owed_pending(&t->answer)) {
		wisp_task_answer(t->host, t->source, t->session, L, 1, lua_gettop(L));
		wisp_owed_settle(&t->answer);
	}
	return 0;
}

static int lua_entry(lua_State *L)
{
	const void *msg = lua_touserdata(L, 3);
	size_t sz = (size_t)lua_tointeger(L, 4);
	lua_settop(L, 2);
	int n = wisp_value_unpack(L, msg, sz);
	lua_callk(L, n + 1, LUA_MULTRET, 0, handler_done);
	return handler_done(L, LUA_OK, 0);
}

/* "up game1 3" as ("up", "game1", 3). */
static int push_node_event(lua_State *co, const char *text, size_t sz)
{
	const char *end = text + sz, *p = text;
	for (int i = 0; i < 2; i++) {
		const char *space = memchr(p, ' ', (size_t)(end - p));
		if (space == NULL)
			space = end;
		lua_pushlstring(co, p, (size_t)(space - p));
		p = space < end ? space + 1 : end;
	}
	lua_Integer id = 0;
	for (; p < end && *p >= '0' && *p <= '9'; p++)
		id = id * 10 + (*p - '0');
	lua_pushinteger(co, id);
	return 3;
}

/* Pushes onto co the arguments of the handler a message of this type
 * starts (for a Lua message, of lua_entry); returns their count. */
static int push_args(lua_State *co, int type, wisp_handle source, void *msg,
	size_t sz)
{
	if (type == WISP_MSG_SOCKET) {
		const struct wisp_socket_msg *m = msg;
		lua_pushinteger(co, m->event);
		lua_pushinteger(co, m->id);
		lua_pushinteger(co, m->ud);
		lua_pushlstring(co, m->data, m->size);
		return 4;
	}
	if (type == WISP_MSG_EXIT)
		return 0;
	if (type == WISP_MSG_NODE)
		return push_node_event(co, msg, sz);
	lua_pushinteger(co, source);
	if (type == WISP_MSG_LUA) { /* lua_entry(handler, source, msg, sz) */
		lua_pushlightuserdata(co, msg);
		lua_pushinteger(co, (lua_Integer)sz);
		return 4;
	}
	if (msg)
		lua_pushlstring(co, msg, sz);
	return msg ? 2 : 1;
}

/* A new task for a message, owing its caller an answer if it has a
 * session. */
static struct task *start_task(struct host *h, int session,
	wisp_handle source)
{
	struct task *t = wisp_task_new(h);
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

/* Pushes the handler for type onto co; 0 if there is none. */
static int push_handler(struct host *h, lua_State *co, int type)
{
	int found;
	if (type == WISP_MSG_LUA) {
		found = lua_rawgeti(co, LUA_REGISTRYINDEX, h->lua_handler_ref)
			== LUA_TFUNCTION;
	} else {
		lua_rawgeti(co, LUA_REGISTRYINDEX, h->handlers_ref);
		found = lua_rawgeti(co, -1, type) == LUA_TFUNCTION;
		lua_remove(co, -2);
	}
	if (!found)
		lua_pop(co, 1);
	return found;
}

/* A message packed in this process is well formed, so its values can go
 * straight onto the task's stack and the handler be the task's function,
 * with no lua_entry between; above this size it takes the general path,
 * which also bounds how many values (and stack slots) one can carry. */
#define PACKED_FAST_MAX 65536

/* A task that will not run: its stack emptied, its answer not owed by it
 * any more (the caller answers), the task back in the pool. */
static void drop_task(struct host *h, struct task *t)
{
	lua_settop(t->co, 0);
	wisp_owed_settle(&t->answer);
	wisp_task_recycle(h, t);
}

/* Nothing here can raise, so no pcall is paid for: packed_type let only
 * a Lua service of this node send the message, which wisp_value_pack
 * made (Lua code cannot send this type with bytes of its own), and the
 * memory limit is not enforced outside user code (host.c), so the
 * unpacking cannot run out either. */
static int run_packed(struct host *h, struct task *t, wisp_handle source,
	const void *msg, size_t sz)
{
	lua_State *co = t->co;
	const unsigned char *head = msg;
	/* the value count leads the message; a count of 128 or more takes
	 * more than a byte, and is bounded by the size */
	int count = sz && head[0] < 0x80 ? head[0] : (int)sz;
	if (sz > PACKED_FAST_MAX || !lua_checkstack(co, count + LUA_MINSTACK)
		|| !push_handler(h, co, WISP_MSG_LUA))
		return 0;
	lua_pushinteger(co, source);
	int n = wisp_value_unpack(co, msg, sz);
	wisp_task_run(h, t, n + 1);
	return 1;
}

static void refuse_packed(struct host *h, int session, wisp_handle source,
	const struct wisp_context *from)
{
	wisp_handle self = wisp_self(h->ctx);
	const char *who = from ? wisp_service_label(from)
		: WISP_HANDLE_NODE(source) != WISP_HANDLE_NODE(self) ? "another node"
		: "no service";
	wisp_log(h->ctx, WISP_LOG_WARN, "refused a WISP_MSG_LUA_PACKED message "
		"from :%08x (%s): only Lua services of this node send that type",
		source, who);
	wisp_bounce(self, source, session, "service :%08x (%s) takes "
		"WISP_MSG_LUA_PACKED only from Lua services of its node; send "
		"WISP_MSG_LUA", self, h->script);
}

/* WISP_MSG_LUA_PACKED skips the checks of WISP_MSG_LUA, so it is taken
 * only from a Lua service of this node, which packed it. Its sender may
 * have exited since, and its handle gone: then it is checked as
 * WISP_MSG_LUA. Any other sender is refused. Returns the type to serve
 * the message as, or -1. */
static int packed_type(struct host *h, int session, wisp_handle source)
{
	wisp_handle self = wisp_self(h->ctx);
	const struct wisp_context *from = NULL;
	if (WISP_HANDLE_NODE(source) == WISP_HANDLE_NODE(self)
		&& (source & WISP_LOCAL_MASK) != 0) {
		from = wisp_handle_grab(source);
		if (from == NULL)
			return WISP_MSG_LUA;
		if (from->module == h->ctx->module)
			return WISP_MSG_LUA_PACKED;
	}
	refuse_packed(h, session, source, from);
	return -1;
}

static void on_request(struct host *h, int type, int session,
	wisp_handle source, void *msg, size_t sz)
{
	if (type == WISP_MSG_CLIENT) {
		wisp_lua_on_client(h, source, session, msg, sz);
		return;
	}
	if (type == WISP_MSG_SYSTEM) {
		wisp_lua_system(h, source, session, msg, sz);
		return;
	}
	if (type == WISP_MSG_NODE && wisp_lua_conns_node(h, msg, sz))
		return; /* watched for its clients' sake only */
	if (type == WISP_MSG_LUA_PACKED
		&& (type = packed_type(h, session, source)) < 0)
		return;
	struct task *t = start_task(h, session, source);
	if (type == WISP_MSG_LUA_PACKED) {
		if (run_packed(h, t, source, msg, sz))
			return;
		type = WISP_MSG_LUA;
	}
	if (type == WISP_MSG_LUA)
		lua_pushcfunction(t->co, lua_entry);
	if (!push_handler(h, t->co, type)) {
		drop_task(h, t);
		unhandled(h, type, session, source);
		return;
	}
	/* for a Lua message the handler itself is an argument of lua_entry */
	wisp_task_run(h, t, push_args(t->co, type, source, msg, sz));
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

/* Stack: the main chunk, the packed arguments and their size. */
static int boot_main(lua_State *L)
{
	const void *args = lua_touserdata(L, 2);
	size_t sz = (size_t)lua_tointeger(L, 3);
	lua_settop(L, 1);
	int n = wisp_value_unpack(L, args, sz);
	lua_callk(L, n, 0, 0, boot_chunk_done);
	return boot_chunk_done(L, LUA_OK, 0);
}

static void on_boot(struct host *h, wisp_handle source, int session,
	void *msg, size_t sz)
{
	struct task *t = start_task(h, session, source);
	lua_State *co = t->co;
	lua_pushcfunction(co, boot_main);
	lua_getfield(co, LUA_REGISTRYINDEX, "wisp.main");
	lua_pushnil(co); /* the chunk is needed once: let it go */
	lua_setfield(co, LUA_REGISTRYINDEX, "wisp.main");
	lua_pushlightuserdata(co, msg);
	lua_pushinteger(co, (lua_Integer)sz);
	lua_pushlstring(co, msg ? msg : "", sz); /* a hot update runs it again */
	lua_setfield(co, LUA_REGISTRYINDEX, "wisp.args");
	t->boot = 1;
	wisp_task_run(h, t, 3);
}

/* A task's call was answered: resume it with (1, payload, size) for its
 * continuation to unpack, or (0, reason). An answer nobody waits for (its
 * call timed out) is dropped. */
static void on_answer(struct host *h, int session, int ok, void *msg,
	size_t sz)
{
	struct task *t = wisp_task_waiting(h, session);
	if (t == NULL)
		return;
	wisp_task_wait(h, session, NULL);
	wisp_calls_remove(h, t); /* answered in time */
	lua_State *co = t->co;
	lua_pushboolean(co, ok);
	if (ok) {
		lua_pushlightuserdata(co, msg);
		lua_pushinteger(co, (lua_Integer)sz);
	} else {
		lua_pushliteral(co, "failed: ");
		lua_pushlstring(co, msg ? msg : "", msg ? sz : 0);
		lua_concat(co, 2);
	}
	wisp_task_run(h, t, ok ? 3 : 2);
}

static void on_timer(struct host *h, int session)
{
	if (wisp_calls_sweep(h, session))
		return;
	struct task *t = wisp_task_waiting(h, session);
	if (t == NULL)
		return;
	wisp_task_wait(h, session, NULL);
	if (t->wait == WAIT_TIMEOUT) {
		wisp_task_run(h, t, lua_gettop(t->co) - 1); /* its first run */
	} else {
		wisp_task_run(h, t, 0);
	}
}

/* Requests that come before the start wait in a list of their own, out of
 * the mailbox, so they are held to its limits here. */
static int defer(struct host *h, int type, int session, wisp_handle source,
	void *msg, size_t sz)
{
	struct wisp_context *ctx = h->ctx;
	if (h->deferred_count >= ctx->mailbox_max
		|| h->deferred_bytes + sz > ctx->mailbox_bytes_max) {
		ctx->refused++;
		wisp_bounce(wisp_self(ctx), source, session, "service :%08x (%s) is "
			"overloaded: its start is not done", wisp_self(ctx), h->script);
		return 0;
	}
	h->deferred_count++;
	h->deferred_bytes += sz;
	struct deferred *d = wisp_malloc(sizeof(*d));
	*d = (struct deferred){ NULL, type, session, source, msg, sz,
		wisp_trace() };
	*h->deferred_tail = d;
	h->deferred_tail = &d->next;
	return 1; /* keeps msg */
}

static struct deferred *next_deferred(struct host *h)
{
	struct deferred *d = h->deferred;
	h->deferred = d->next;
	h->deferred_count--;
	h->deferred_bytes -= d->size;
	if (h->deferred == NULL)
		h->deferred_tail = &h->deferred;
	return d;
}

static void replay_deferred(struct host *h)
{
	while (h->deferred && !h->ctx->dead) {
		struct deferred *d = next_deferred(h);
		uint64_t was = wisp_trace_swap(d->trace);
		on_request(h, d->type, d->session, d->source, d->data, d->size);
		wisp_trace_swap(was);
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

static int dispatch(struct host *h, int type, int session,
	wisp_handle source, void *msg, size_t sz)
{
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
	case WISP_MSG_SPAWN:
		wisp_lua_launch(h, source, session, msg, sz);
		break;
	default:
		/* requests wait for the start; events (sockets, nodes) may be
		 * what the start itself waits for */
		if (!h->started && type != WISP_MSG_SOCKET && type != WISP_MSG_NODE)
			return defer(h, type, session, source, msg, sz);
		on_request(h, type, session, source, msg, sz);
	}
	if (h->started && h->deferred)
		replay_deferred(h);
	if (h->idle_pending && h->ctx->mailbox.count == 0 && !h->ctx->dead)
		wisp_lua_run_idle(h);
	return 0;
}

/* One message, and whether dispatch kept it, through wisp_lua_guard. */
struct delivery {
	int type, session;
	wisp_handle source;
	void *msg;
	size_t sz;
	int kept;
};

static void deliver(struct host *h, void *arg)
{
	struct delivery *d = arg;
	d->kept = dispatch(h, d->type, d->session, d->source, d->msg, d->sz);
}

int wisp_lua_dispatch(struct wisp_context *ctx, void *ud, int type,
	int session, wisp_handle source, void *msg, size_t sz)
{
	(void)ctx;
	struct host *h = ud;
	struct delivery d = { type, session, source, msg, sz, 0 };
	if (h->panicked || wisp_lua_guard(h, deliver, &d) < 0)
		return 0;
	return d.kept;
}
