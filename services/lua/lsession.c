/* lsession.c: client connections bound to services, and their session
 * data, in a Lua service. wisp.bind, wisp.unbind and wisp.session ask a
 * connection's gate (proto/GATE.md, "Sessions") to send its frames
 * straight to a service, on any node, and to keep a small value that
 * comes with each of its events as the handlers' session argument.
 * Each service also remembers the connections whose close its gates
 * would tell it of (OPEN as gate.events, BOUND as a bound service), one
 * set per gate, so that when a net node goes down it can run its
 * disconnect handler for each of them itself: the gate that would have
 * told it is gone. */
#include <lauxlib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "gate.h"
#include "handle.h"
#include "harbor_api.h"
#include "host.h"
#include "names.h"
#include "node.h"
#include "service.h"
#include "value.h"

#define NODE_DOWN_REASON "net node down"

/* ---- the connections a service was told of, by gate ---- */

/* Why a connection is known: a service can be both. */
enum { AS_EVENTS = 1, AS_BOUND = 2 };

struct gate_conns {
	wisp_handle gate;
	struct wisp_keymap conns; /* conn id -> AS_* bits, as a pointer */
};

struct seen {
	struct gate_conns *gates;
	uint32_t count;
	wisp_handle watching; /* itself, once the harbor tells it of nodes */
};

static const char seen_key = 0; /* its address keys the registry */

static int seen_gc(lua_State *L)
{
	struct seen *s = lua_touserdata(L, 1);
	for (uint32_t i = 0; i < s->count; i++)
		wisp_keymap_free(&s->gates[i].conns);
	wisp_free(s->gates);
	if (s->watching)
		wisp_harbor_unwatch_nodes(s->watching);
	memset(s, 0, sizeof(*s));
	return 0;
}

/* The service's record, made on first use when create is set. */
static struct seen *seen_of(struct host *h, int create)
{
	lua_State *L = h->L;
	lua_rawgetp(L, LUA_REGISTRYINDEX, &seen_key);
	struct seen *s = lua_touserdata(L, -1);
	lua_pop(L, 1);
	if (s || !create)
		return s;
	s = lua_newuserdatauv(L, sizeof(*s), 0);
	memset(s, 0, sizeof(*s));
	lua_createtable(L, 0, 1);
	lua_pushcfunction(L, seen_gc);
	lua_setfield(L, -2, "__gc");
	lua_setmetatable(L, -2);
	lua_rawsetp(L, LUA_REGISTRYINDEX, &seen_key);
	return s;
}

static struct gate_conns *find_gate(struct seen *s, wisp_handle gate)
{
	for (uint32_t i = 0; i < s->count; i++)
		if (s->gates[i].gate == gate)
			return &s->gates[i];
	return NULL;
}

/* A gate on another node: the harbor tells this service if it goes. */
static void watch(struct host *h, struct seen *s, wisp_handle gate)
{
	if (s->watching || WISP_HANDLE_NODE(gate) == wisp_node_id()
		|| wisp_harbor_watch_nodes(wisp_self(h->ctx)) < 0)
		return;
	s->watching = wisp_self(h->ctx);
}

static void remember(struct host *h, wisp_handle gate, uint32_t conn,
	uintptr_t as)
{
	struct seen *s = seen_of(h, 1);
	struct gate_conns *g = find_gate(s, gate);
	if (g == NULL) {
		s->gates = wisp_realloc(s->gates, (s->count + 1) * sizeof(*s->gates));
		g = &s->gates[s->count++];
		*g = (struct gate_conns){ .gate = gate };
		watch(h, s, gate);
	}
	as |= (uintptr_t)wisp_keymap_get(&g->conns, conn);
	wisp_keymap_put(&g->conns, conn, (void *)as);
}

/* Takes the reasons as away from what the service knew of the
 * connection: 1 if it knew of it. */
static int forget(struct host *h, wisp_handle gate, uint32_t conn,
	uintptr_t as)
{
	struct seen *s = seen_of(h, 0);
	struct gate_conns *g = s ? find_gate(s, gate) : NULL;
	uintptr_t was = g ? (uintptr_t)wisp_keymap_get(&g->conns, conn) : 0;
	if (was & ~as)
		wisp_keymap_put(&g->conns, conn, (void *)(was & ~as));
	else if (was)
		wisp_keymap_remove(&g->conns, conn);
	return was != 0;
}

int wisp_lua_conn_event(struct host *h, wisp_handle gate,
	const struct wisp_gate_event *e)
{
	switch (e->kind) {
	case WISP_GATE_OPEN:
		remember(h, gate, e->conn, AS_EVENTS);
		return 1;
	case WISP_GATE_BOUND:
		remember(h, gate, e->conn, AS_BOUND);
		return 0;
	case WISP_GATE_UNBOUND:
		forget(h, gate, e->conn, AS_BOUND);
		return 0;
	case WISP_GATE_CLOSE:
		/* a bound service that is gate.events too hears of it once */
		return forget(h, gate, e->conn, AS_EVENTS | AS_BOUND) || !e->bound;
	default:
		return 1;
	}
}

/* ---- a net node goes down ---- */

struct conn_list {
	uint32_t *ids;
	size_t count;
};

static void collect(uint64_t key, void *value, void *ud)
{
	(void)value;
	struct conn_list *l = ud;
	l->ids[l->count++] = (uint32_t)key;
}

/* Takes gate g's connections out of the record (the handlers run next may
 * change it) and runs the disconnect handler for each. */
static void close_all(struct host *h, struct seen *s, struct gate_conns *g)
{
	wisp_handle gate = g->gate;
	struct conn_list l = { wisp_malloc((g->conns.count + 1) * sizeof(*l.ids)),
		0 };
	wisp_keymap_drain(&g->conns, collect, &l);
	wisp_keymap_free(&g->conns);
	*g = s->gates[--s->count];
	for (size_t i = 0; i < l.count && !h->ctx->dead; i++) {
		struct wisp_gate_event e = { .kind = WISP_GATE_CLOSE,
			.conn = l.ids[i], .data = (const uint8_t *)NODE_DOWN_REASON,
			.size = sizeof(NODE_DOWN_REASON) - 1 };
		wisp_lua_client_run(h, gate, 0, &e);
	}
	wisp_free(l.ids);
}

/* Whether the service has a handler of its own for node events. */
static int monitors_nodes(struct host *h)
{
	lua_State *L = h->L;
	lua_rawgeti(L, LUA_REGISTRYINDEX, h->handlers_ref);
	int found = lua_rawgeti(L, -1, WISP_MSG_NODE) == LUA_TFUNCTION;
	lua_pop(L, 2);
	return found;
}

int wisp_lua_conns_node(struct host *h, const void *msg, size_t sz)
{
	char text[96], name[96];
	unsigned node;
	struct seen *s = seen_of(h, 0);
	snprintf(text, sizeof(text), "%.*s", (int)(sz < sizeof(text) ? sz
		: sizeof(text) - 1), msg ? (const char *)msg : "");
	if (s && sscanf(text, "down %95s %u", name, &node) == 2)
		for (uint32_t i = s->count; i-- > 0;)
			if (i < s->count && WISP_HANDLE_NODE(s->gates[i].gate) == node)
				close_all(h, s, &s->gates[i]);
	return !monitors_nodes(h);
}

/* ---- the session argument of handlers ---- */

static int session_done(lua_State *L, int status, lua_KContext k)
{
	(void)status; (void)k;
	return lua_gettop(L);
}

/* Stack: the handler, its arguments, then the packed session and its
 * size, which the session's one value replaces. It runs as the task
 * starts, while the message holding the session is still there; a
 * session that does not unpack fails like the handler. */
static int with_session(lua_State *L)
{
	const void *data = lua_touserdata(L, -2);
	size_t size = (size_t)lua_tointeger(L, -1);
	lua_pop(L, 2);
	int top = lua_gettop(L);
	wisp_value_unpack(L, data, size);
	lua_settop(L, top + 1);
	lua_callk(L, top, LUA_MULTRET, 0, session_done);
	return session_done(L, LUA_OK, 0);
}

void wisp_lua_push_session(lua_State *co, int func,
	const struct wisp_gate_event *e)
{
	if (!e->has_session) {
		lua_pushnil(co);
		return;
	}
	if (e->session.size == 0) { /* a user id alone (from a C service) */
		lua_createtable(co, 0, 1);
		lua_pushinteger(co, (lua_Integer)e->session.uid);
		lua_setfield(co, -2, "uid");
		return;
	}
	lua_pushlightuserdata(co, (void *)e->session.data);
	lua_pushinteger(co, (lua_Integer)e->session.size);
	lua_pushcfunction(co, with_session);
	lua_insert(co, func);
}

/* ---- wisp.bind, wisp.unbind, wisp.session ---- */

/* The handle a bind names: a number, ":0040000a", a name of this node
 * or a cluster-wide one. A gate routes by handle, so a name of another
 * node, which only that node can look up, is refused. */
static wisp_handle check_target(lua_State *L, int idx)
{
	if (lua_type(L, idx) == LUA_TNUMBER) {
		lua_Integer v = luaL_checkinteger(L, idx);
		luaL_argcheck(L, v > 0 && v <= UINT32_MAX, idx, "not a handle");
		return (wisp_handle)v;
	}
	const char *addr = luaL_checkstring(L, idx);
	if (addr[0] == ':') {
		wisp_handle h = (wisp_handle)strtoul(addr + 1, NULL, 16);
		luaL_argcheck(L, h != 0, idx, "not a handle");
		return h;
	}
	char name[WISP_NAME_MAX + 1];
	const char *at = strchr(addr, '@');
	size_t n = at ? (size_t)(at - addr) : strlen(addr);
	if (at && strcmp(at + 1, wisp_node_name()) != 0)
		luaL_error(L, "cannot bind to '%s': a gate sends by handle, and only "
			"node %s can look that name up; bind to the service's handle "
			"(wisp.newservice_at returns it) or a cluster-wide name", addr,
			at + 1);
	snprintf(name, sizeof(name), "%.*s", (int)n, addr);
	wisp_handle h = wisp_query(name);
	if (h == 0)
		luaL_error(L, "cannot bind to '%s': no service of that name", addr);
	return h;
}

/* An id of the commands list, at the top of the stack. */
static uint32_t command_at_top(lua_State *L, int arg)
{
	int ok;
	lua_Integer id = lua_tointegerx(L, -1, &ok);
	if (!ok || id < 0 || id > UINT32_MAX)
		luaL_argerror(L, arg, "command ids are integers from 0 to "
			"4294967295");
	lua_pop(L, 1);
	return (uint32_t)id;
}

/* { {1000, 1999}, 2001 }: ids and { first, last } ranges into r; their
 * count, 0 (every command) when idx is nil. */
static uint32_t check_ranges(lua_State *L, int idx, struct wisp_gate_range *r)
{
	if (lua_isnoneornil(L, idx))
		return 0;
	luaL_checktype(L, idx, LUA_TTABLE);
	lua_Integer n = luaL_len(L, idx);
	luaL_argcheck(L, n >= 1 && n <= WISP_GATE_RANGES_MAX, idx,
		"1 to 16 command ids or { first, last } ranges");
	for (lua_Integer i = 1; i <= n; i++) {
		if (lua_rawgeti(L, idx, i) == LUA_TTABLE) {
			lua_rawgeti(L, -1, 1);
			r[i - 1].lo = command_at_top(L, idx);
			lua_rawgeti(L, -1, 2);
			r[i - 1].hi = command_at_top(L, idx);
			lua_pop(L, 1);
		} else {
			r[i - 1].lo = r[i - 1].hi = command_at_top(L, idx);
		}
		luaL_argcheck(L, r[i - 1].lo <= r[i - 1].hi, idx,
			"a range's first id is after its last");
	}
	return (uint32_t)n;
}

static void send_to_gate(lua_State *L, uint64_t conn, uint8_t *msg,
	size_t sz)
{
	wisp_gate_op_set_conn(msg, 0, (uint32_t)conn);
	wisp_send(wisp_lua_task(L)->host->ctx, (wisp_handle)(conn >> 32),
		WISP_MSG_GATE, 0, msg, sz);
}

/* Session data at idx to conn's gate: the value packed, its uid field as
 * the user id; nil drops it. */
static void send_session(lua_State *L, uint64_t conn, int idx)
{
	size_t sz, size;
	if (lua_isnil(L, idx)) {
		uint8_t *msg = wisp_gate_session_new(NULL, 1, &sz);
		send_to_gate(L, conn, msg, sz);
		return;
	}
	void *packed = wisp_value_pack(L, idx, idx, &size);
	if (size > WISP_GATE_SESSION_MAX) {
		wisp_free(packed);
		luaL_error(L, "session data packs to %d bytes: a gate keeps at most "
			"%d for a connection", (int)size, WISP_GATE_SESSION_MAX);
	}
	struct wisp_gate_session s = { 0, packed, size };
	if (lua_type(L, idx) == LUA_TTABLE) {
		lua_getfield(L, idx, "uid");
		s.uid = (uint64_t)lua_tointeger(L, -1);
		lua_pop(L, 1);
	}
	uint8_t *msg = wisp_gate_session_new(&s, 1, &sz);
	wisp_free(packed);
	send_to_gate(L, conn, msg, sz);
}

/* wisp.bind(conn, addr [, commands [, session]]): conn's later frames (of
 * the command ids listed, or all) go straight to addr; session, if given,
 * is set first, as by wisp.session. */
static int l_bind(lua_State *L)
{
	uint64_t conn = wisp_lua_check_conn(L, 1);
	wisp_handle to = check_target(L, 2);
	struct wisp_gate_range r[WISP_GATE_RANGES_MAX];
	uint32_t n = check_ranges(L, 3, r);
	size_t sz;
	if (!lua_isnoneornil(L, 4))
		send_session(L, conn, 4);
	uint8_t *msg = wisp_gate_binding_new(WISP_GATE_BIND, to, r, n, 1, &sz);
	send_to_gate(L, conn, msg, sz);
	return 0;
}

/* wisp.unbind(conn [, commands [, addr]]): those frames (all, without
 * commands) go by gate.commands again; with addr, only those bound to it. */
static int l_unbind(lua_State *L)
{
	uint64_t conn = wisp_lua_check_conn(L, 1);
	struct wisp_gate_range r[WISP_GATE_RANGES_MAX];
	uint32_t n = check_ranges(L, 2, r);
	wisp_handle only = lua_isnoneornil(L, 3) ? 0 : check_target(L, 3);
	size_t sz;
	uint8_t *msg = wisp_gate_binding_new(WISP_GATE_UNBIND, only, r, n, 1, &sz);
	send_to_gate(L, conn, msg, sz);
	return 0;
}

/* wisp.session(conn, value): the value, packed in at most
 * WISP_GATE_SESSION_MAX bytes, comes with each of conn's frames and its
 * disconnect; nil drops it. */
static int l_session(lua_State *L)
{
	uint64_t conn = wisp_lua_check_conn(L, 1);
	luaL_checkany(L, 2);
	send_session(L, conn, 2);
	return 0;
}

const luaL_Reg wisp_lua_session_funcs[] = {
	{ "bind", l_bind }, { "unbind", l_unbind }, { "session", l_session },
	{ NULL, NULL },
};
