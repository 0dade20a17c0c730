/* lgate.c: game clients in a Lua service. Handlers for client commands
 * (wisp.command), connects and disconnects (wisp.on_connect,
 * wisp.on_disconnect), and frames to clients (push, multicast, broadcast,
 * kick) through the gates of the net nodes. A client connection is one
 * integer: its gate's handle in the high 32 bits, the gate's id for it in
 * the low 32, so any service on any node can answer it. Messages are
 * those of proto/GATE.md: each command handler's end, whether it returns
 * a reply, nothing or raises, answers the gate's session, which frees the
 * client's slot there (gate.max_inflight). Binding connections to services
 * and their session data are lsession.c's. */
#include <lauxlib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "gate_config.h"
#include "gate.h"
#include "host.h"
#include "names.h"
#include "node.h"
#include "service.h"

static struct host *host_of(lua_State *L)
{
	return wisp_lua_task(L)->host;
}

/* Pushes the service's table of client handlers (handlers[CLIENT]),
 * made on first use. */
static void push_client_handlers(struct host *h, lua_State *L)
{
	lua_rawgeti(L, LUA_REGISTRYINDEX, h->handlers_ref);
	if (lua_rawgeti(L, -1, WISP_MSG_CLIENT) != LUA_TTABLE) {
		lua_pop(L, 1);
		lua_newtable(L);
		lua_pushvalue(L, -1);
		lua_rawseti(L, -3, WISP_MSG_CLIENT);
	}
	lua_remove(L, -2);
}

static uint32_t check_command(lua_State *L, int idx)
{
	lua_Integer id = luaL_checkinteger(L, idx);
	luaL_argcheck(L, id >= 0 && id <= UINT32_MAX, idx,
		"a command id is from 0 to 4294967295");
	return (uint32_t)id;
}

/* wisp.command(id, fn): fn(conn, body, session) serves the client frames
 * of command id routed or bound to this service; a string (or number) it
 * returns is the reply; session is the connection's session data, or nil.
 * A nil fn removes the handler. */
static int l_command(lua_State *L)
{
	uint32_t id = check_command(L, 1);
	if (!lua_isnil(L, 2))
		luaL_checktype(L, 2, LUA_TFUNCTION);
	push_client_handlers(host_of(L), L);
	lua_pushvalue(L, 2);
	lua_rawseti(L, -2, (lua_Integer)id);
	return 0;
}

static int set_event_handler(lua_State *L, const char *event)
{
	if (!lua_isnil(L, 1))
		luaL_checktype(L, 1, LUA_TFUNCTION);
	push_client_handlers(host_of(L), L);
	lua_pushvalue(L, 1);
	lua_setfield(L, -2, event);
	return 0;
}

/* wisp.on_connect(fn): fn(conn, address) for the gate's connects, in
 * the service named by gate.events. */
static int l_on_connect(lua_State *L)
{
	return set_event_handler(L, "connect");
}

/* wisp.on_disconnect(fn): fn(conn, reason, session), in gate.events and
 * in the services the connection is bound to; also for each connection
 * of a net node that goes down ("net node down", lsession.c). */
static int l_on_disconnect(lua_State *L)
{
	return set_event_handler(L, "disconnect");
}

uint64_t wisp_lua_check_conn(lua_State *L, int idx)
{
	lua_Integer v = luaL_checkinteger(L, idx);
	uint64_t conn = (uint64_t)v;
	if ((uint32_t)conn == 0 || (conn >> 32) == 0)
		luaL_argerror(L, idx, "not a client connection");
	return conn;
}

static const char *check_body(lua_State *L, int idx, size_t *size)
{
	const char *body = luaL_optlstring(L, idx, "", size);
	const struct wisp_config *cfg = wisp_node_config();
	const struct wisp_gate_settings *g = cfg ? wisp_gate_settings(cfg) : NULL;
	if (g && *size > g->max_body)
		luaL_error(L, "a frame body of %I bytes is larger than gate.max_body "
			"(%I)", (lua_Integer)*size, (lua_Integer)g->max_body);
	return body;
}

/* Sends an op for count conns (all of one gate) to that gate. */
static void send_op(struct host *h, int op, uint32_t command,
	const uint64_t *conns, uint32_t count, const char *data, size_t size)
{
	size_t sz;
	uint8_t *msg = wisp_gate_op_new(op, command, count, data, size, &sz);
	for (uint32_t i = 0; i < count; i++)
		wisp_gate_op_set_conn(msg, i, (uint32_t)conns[i]);
	wisp_send(h->ctx, (wisp_handle)(conns[0] >> 32), WISP_MSG_GATE, 0, msg, sz);
}

/* wisp.push(conn, command, body) */
static int l_push(lua_State *L)
{
	uint64_t conn = wisp_lua_check_conn(L, 1);
	uint32_t command = check_command(L, 2);
	size_t size;
	const char *body = check_body(L, 3, &size);
	send_op(host_of(L), WISP_GATE_PUSH, command, &conn, 1, body, size);
	return 0;
}

/* The reply a command handler returned at idx: a string, a number as
 * its decimal text (as tostring writes it), or NULL for none (nil);
 * anything else raises, which fails the command like a handler error. */
static const char *reply_body(lua_State *L, uint32_t command, int idx,
	size_t *size)
{
	*size = 0;
	if (lua_isnoneornil(L, idx))
		return NULL;
	if (lua_type(L, idx) == LUA_TNUMBER)
		lua_tolstring(L, idx, NULL); /* in place: now a string */
	if (lua_type(L, idx) != LUA_TSTRING)
		luaL_error(L, "the handler of command %I returned a %s: a reply is "
			"a string or a number, or nil for none", (lua_Integer)command,
			luaL_typename(L, idx));
	return check_body(L, idx, size);
}

/* Ends task t's command: the answer to the gate's session, with the reply
 * if there is one. A service exiting meanwhile has answered already. */
static void answer_gate(struct task *t, const char *body, size_t size)
{
	if (!wisp_owed_pending(&t->answer))
		return;
	size_t sz;
	void *msg = wisp_gate_answer_encode(body ? WISP_GATE_REPLY
		: WISP_GATE_DONE, body, size, &sz);
	wisp_owed_settle(&t->answer);
	wisp_send(t->host->ctx, t->source, WISP_MSG_RESPONSE, t->session, msg, sz);
}

static int compare_conns(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* Sorted, the conns of one gate are side by side: one op per gate. */
static void multicast_sorted(struct host *h, uint32_t command, uint64_t *conns,
	size_t n, const char *body, size_t size)
{
	qsort(conns, n, sizeof(*conns), compare_conns);
	for (size_t from = 0; from < n;) {
		size_t to = from + 1;
		while (to < n && (conns[to] >> 32) == (conns[from] >> 32))
			to++;
		send_op(h, WISP_GATE_PUSH, command, conns + from,
			(uint32_t)(to - from), body, size);
		from = to;
	}
}

/* wisp.multicast(conns, command, body): one frame to each conn of the
 * list, wherever their gates are. */
static int l_multicast(lua_State *L)
{
	luaL_checktype(L, 1, LUA_TTABLE);
	uint32_t command = check_command(L, 2);
	size_t size;
	const char *body = check_body(L, 3, &size);
	lua_Integer n = luaL_len(L, 1);
	if (n <= 0)
		return 0;
	luaL_argcheck(L, n <= UINT32_MAX, 1, "too many connections");
	uint64_t *conns = lua_newuserdatauv(L, (size_t)n * sizeof(*conns), 0);
	for (lua_Integer i = 1; i <= n; i++) {
		lua_rawgeti(L, 1, i);
		if (!lua_isinteger(L, -1) || (uint32_t)lua_tointeger(L, -1) == 0
			|| ((uint64_t)lua_tointeger(L, -1) >> 32) == 0)
			return luaL_error(L, "bad connection at index %d of the list",
				(int)i);
		conns[i - 1] = (uint64_t)lua_tointeger(L, -1);
		lua_pop(L, 1);
	}
	multicast_sorted(host_of(L), command, conns, (size_t)n, body, size);
	return 0;
}

/* wisp.broadcast(command, body): one frame to every client of every net
 * node. Returns how many gates it was sent to. */
static int l_broadcast(lua_State *L)
{
	uint32_t command = check_command(L, 1);
	size_t size;
	const char *body = check_body(L, 2, &size);
	const struct wisp_config *cfg = wisp_node_config();
	struct host *h = host_of(L);
	int gates = 0;
	for (size_t i = 0; cfg && i < cfg->peer_count; i++) {
		const struct wisp_peer *p = &cfg->peers[i];
		if (!(p->roles & WISP_ROLE_NET))
			continue;
		/* "gate@NODE" reaches this node's own gate locally, too */
		char name[WISP_NAME_MAX * 2 + 2];
		snprintf(name, sizeof(name), "%s@%s", WISP_GATE_NAME, p->name);
		size_t sz;
		uint8_t *msg = wisp_gate_op_new(WISP_GATE_BROADCAST, command, 0, body,
			size, &sz);
		if (wisp_send_name(h->ctx, name, WISP_MSG_GATE, 0, msg, sz) == 0)
			gates++;
	}
	lua_pushinteger(L, gates);
	return 1;
}

/* wisp.kick(conn [, reason]): closes the connection (after what was
 * pushed to it before); the reason is logged and told to gate.events. */
static int l_kick(lua_State *L)
{
	uint64_t conn = wisp_lua_check_conn(L, 1);
	size_t size;
	const char *reason = luaL_optlstring(L, 2, "by the server", &size);
	send_op(host_of(L), WISP_GATE_KICK, 0, &conn, 1, reason, size);
	return 0;
}

const luaL_Reg wisp_lua_gate_funcs[] = {
	{ "command", l_command }, { "on_connect", l_on_connect },
	{ "on_disconnect", l_on_disconnect }, { "push", l_push },
	{ "multicast", l_multicast }, { "broadcast", l_broadcast },
	{ "kick", l_kick }, { NULL, NULL },
};

/* Stack: conn, command, handler, conn, body. The handler's first result
 * is the reply, sent from inside the task so that a bad one fails like
 * the handler (the task then answers the gate with the error). A frame
 * from a gate that gave no session is answered by a push, if at all. */
static int command_done(lua_State *L, int status, lua_KContext k)
{
	(void)status; (void)k;
	struct task *t = wisp_lua_task(L);
	uint64_t conn = (uint64_t)lua_tointeger(L, 1);
	uint32_t command = (uint32_t)lua_tointeger(L, 2);
	size_t size;
	const char *body = reply_body(L, command, 3, &size);
	if (t->session > 0)
		answer_gate(t, body, size);
	else if (body)
		send_op(t->host, WISP_GATE_PUSH, command, &conn, 1, body, size);
	return 0;
}

/* Stack: conn, command, handler, then its arguments: conn, body and the
 * session. */
static int command_entry(lua_State *L)
{
	lua_callk(L, lua_gettop(L) - 3, 1, 0, command_done);
	return command_done(L, LUA_OK, 0);
}

/* Pushes onto co the task's function and arguments for event e; the
 * count of arguments, or -1 when the service has no handler for it. */
static int push_task(struct host *h, lua_State *co, lua_Integer conn,
	const struct wisp_gate_event *e)
{
	push_client_handlers(h, co);
	int frame = e->kind == WISP_GATE_FRAME;
	if (frame) {
		lua_pushcfunction(co, command_entry);
		lua_pushinteger(co, conn);
		lua_pushinteger(co, e->command);
		lua_rawgeti(co, -4, (lua_Integer)e->command);
	} else {
		lua_getfield(co, -1, e->kind == WISP_GATE_OPEN ? "connect"
			: "disconnect");
	}
	if (lua_type(co, -1) != LUA_TFUNCTION) {
		lua_settop(co, 0);
		return -1;
	}
	lua_pushinteger(co, conn);
	lua_pushlstring(co, (const char *)e->data, e->size);
	wisp_lua_push_session(co, 2, e);
	lua_remove(co, 1); /* the handlers table */
	return lua_gettop(co) - 1;
}

/* A frame no handler takes: the gate hears of it on the session it
 * waits on. */
static void no_handler(struct host *h, wisp_handle source, int session,
	uint32_t command)
{
	wisp_log(h->ctx, WISP_LOG_WARN, "no handler for client command %u "
		"(wisp.command) in %s", command, h->script);
	wisp_bounce(wisp_self(h->ctx), source, session, "no handler for client "
		"command %u in %s", command, h->script);
}

void wisp_lua_on_client(struct host *h, wisp_handle source, int session,
	const void *msg, size_t sz)
{
	struct wisp_gate_event e;
	if (wisp_gate_event_decode(msg, sz, &e) < 0) {
		wisp_log(h->ctx, WISP_LOG_WARN, "a malformed client message from "
			":%08x dropped", source);
		wisp_bounce(wisp_self(h->ctx), source, session, "a malformed client "
			"message");
		return;
	}
	if (wisp_lua_conn_event(h, source, &e))
		wisp_lua_client_run(h, source, session, &e);
}

void wisp_lua_client_run(struct host *h, wisp_handle source, int session,
	const struct wisp_gate_event *e)
{
	lua_Integer conn = (lua_Integer)(((uint64_t)source << 32) | e->conn);
	struct task *t = wisp_task_new(h);
	t->source = source;
	int nargs = push_task(h, t->co, conn, e);
	if (nargs < 0) {
		wisp_task_recycle(h, t);
		if (e->kind == WISP_GATE_FRAME)
			no_handler(h, source, session, e->command);
		return;
	}
	if (e->kind == WISP_GATE_FRAME && session > 0) {
		t->session = session; /* owed until the handler is done */
		wisp_owed_add(h, &t->answer, source, session);
	}
	wisp_task_run(h, t, nargs);
}
