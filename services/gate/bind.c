/* bind.c: connections bound to services, and their session data
 * (proto/GATE.md, "Sessions"). A service anywhere binds a connection, or
 * some of its command ids, to a service by handle; the gate then sends
 * those frames there instead of to gate.commands' route, tells the bound
 * service when it is bound (BOUND), no longer bound (UNBOUND) and when
 * the connection closes (CLOSE, flagged bound). Each connection's
 * bindings are disjoint ranges of command ids, sorted, so a frame's is
 * found in a short scan. A bound service that is gone (its frames are
 * answered "no service" or "exited", or its node goes down) loses its
 * bindings, and the frames go to gate.commands again. */
#include <stdio.h>
#include <string.h>
#include "gate_service.h"

/* What one connection may be bound in at most: a limit that keeps a
 * service's mistake (binding id after id) from growing the gate. */
#define ROUTES_MAX 64
/* Room for what one op can make of them before the limit is checked:
 * each range splits one binding in two and adds one. */
#define ROUTES_ROOM (ROUTES_MAX + 2 * WISP_GATE_RANGES_MAX)

/* Command ids lo..hi go to the service to. */
struct gate_route {
	uint32_t lo, hi;
	wisp_handle to;
};

struct gate_bind {
	struct gate_route *routes; /* sorted by lo, disjoint */
	uint32_t nroutes;
	uint32_t session_size;
	uint64_t uid;
	uint8_t has_session;
	uint8_t session[];         /* session_size bytes */
};

/* ---- how many routes go to each service (g->bound_refs) ---- */

static uintptr_t refs(const struct gate *g, wisp_handle to)
{
	return (uintptr_t)wisp_keymap_get(&g->bound_refs, to);
}

/* A service with no route left is forgotten, gone or not. */
static void count_routes(struct gate *g, const struct gate_route *r,
	uint32_t n, int delta)
{
	for (uint32_t i = 0; i < n; i++) {
		uintptr_t left = refs(g, r[i].to) + (uintptr_t)(intptr_t)delta;
		if (left) {
			wisp_keymap_put(&g->bound_refs, r[i].to, (void *)left);
			continue;
		}
		wisp_keymap_remove(&g->bound_refs, r[i].to);
		wisp_keymap_remove(&g->bound_gone, r[i].to);
	}
}

/* ---- the routes of one connection ---- */

static int has_target(const struct gate_route *r, uint32_t n, wisp_handle to)
{
	for (uint32_t i = 0; i < n; i++)
		if (r[i].to == to)
			return 1;
	return 0;
}

/* Takes lo..hi out of in's routes (only those to only, unless it is 0)
 * into out; the count out holds, at most one more than in. */
static uint32_t carve(const struct gate_route *in, uint32_t n,
	struct gate_route *out, uint32_t lo, uint32_t hi, wisp_handle only)
{
	uint32_t m = 0;
	for (uint32_t i = 0; i < n; i++) {
		struct gate_route r = in[i];
		if (r.hi < lo || r.lo > hi || (only && r.to != only)) {
			out[m++] = r;
			continue;
		}
		if (r.lo < lo)
			out[m++] = (struct gate_route){ r.lo, lo - 1, r.to };
		if (r.hi > hi)
			out[m++] = (struct gate_route){ hi + 1, r.hi, r.to };
	}
	return m;
}

/* Puts lo..hi -> to in its place among n disjoint routes none of which
 * overlaps it. */
static uint32_t insert(struct gate_route *r, uint32_t n, uint32_t lo,
	uint32_t hi, wisp_handle to)
{
	uint32_t at = n;
	while (at > 0 && r[at - 1].lo > lo) {
		r[at] = r[at - 1];
		at--;
	}
	r[at] = (struct gate_route){ lo, hi, to };
	return n + 1;
}

/* The routes after op into out (room for ROUTES_ROOM): each range (or
 * every command id) carved out, then, for a BIND, given to its target.
 * The count, which may be past ROUTES_MAX. */
static uint32_t apply(const struct gate_route *old, uint32_t n, int op,
	const struct wisp_gate_binding *b, struct gate_route *out)
{
	struct gate_route tmp[ROUTES_ROOM + 1];
	wisp_handle only = op == WISP_GATE_UNBIND ? b->target : 0;
	uint32_t ranges = b->count ? b->count : 1;
	if (n)
		memcpy(out, old, n * sizeof(*out));
	for (uint32_t i = 0; i < ranges; i++) {
		struct wisp_gate_range r = b->count ? wisp_gate_binding_range(b, i)
			: (struct wisp_gate_range){ 0, UINT32_MAX };
		n = carve(out, n, tmp, r.lo, r.hi, only);
		if (op == WISP_GATE_BIND)
			n = insert(tmp, n, r.lo, r.hi, b->target);
		memcpy(out, tmp, n * sizeof(*out));
	}
	return n;
}

static struct gate_bind *bind_of(struct gate_conn *c)
{
	if (c->bind == NULL) {
		c->bind = wisp_malloc(sizeof(*c->bind));
		memset(c->bind, 0, sizeof(*c->bind));
	}
	return c->bind;
}

/* A connection bound to nothing, with no session, holds nothing. */
static void tidy(struct gate_conn *c)
{
	struct gate_bind *b = c->bind;
	if (b && b->nroutes == 0 && !b->has_session) {
		wisp_free(b->routes);
		wisp_free(b);
		c->bind = NULL;
	}
}

/* c's routes become r[0..n): each service that gains or loses its last
 * one is told. */
static void set_routes(struct gate *g, struct gate_conn *c,
	const struct gate_route *r, uint32_t n)
{
	struct gate_bind *b = bind_of(c);
	for (uint32_t i = 0; i < b->nroutes; i++)
		if (!has_target(b->routes, i, b->routes[i].to)
			&& !has_target(r, n, b->routes[i].to))
			wisp_gate_tell(g, c, b->routes[i].to, WISP_GATE_UNBOUND, NULL);
	count_routes(g, r, n, 1); /* first, so that a kept one stays known */
	count_routes(g, b->routes, b->nroutes, -1);
	struct gate_route *was = b->routes;
	uint32_t was_n = b->nroutes;
	b->routes = n ? wisp_malloc(n * sizeof(*r)) : NULL;
	b->nroutes = n;
	if (n)
		memcpy(b->routes, r, n * sizeof(*r));
	for (uint32_t i = 0; i < n; i++)
		if (!has_target(r, i, r[i].to) && !has_target(was, was_n, r[i].to))
			wisp_gate_tell(g, c, r[i].to, WISP_GATE_BOUND, NULL);
	wisp_free(was);
	tidy(c);
}

/* Drops c's routes whose service passes gone(to, arg), telling none. */
static void drop_routes(struct gate *g, struct gate_conn *c,
	int (*gone)(wisp_handle to, uintptr_t arg), uintptr_t arg)
{
	struct gate_bind *b = c->bind;
	uint32_t n = 0;
	for (uint32_t i = 0; i < b->nroutes; i++) {
		if (!gone(b->routes[i].to, arg))
			b->routes[n++] = b->routes[i];
		else
			count_routes(g, &b->routes[i], 1, -1);
	}
	b->nroutes = n;
	tidy(c);
}

/* ---- ops from services ---- */

static void bind_one(struct gate *g, struct gate_conn *c, int op,
	const struct wisp_gate_binding *b)
{
	struct gate_route next[ROUTES_ROOM + 1];
	const struct gate_bind *was = c->bind;
	uint32_t n = apply(was ? was->routes : NULL, was ? was->nroutes : 0, op,
		b, next);
	if (n > ROUTES_MAX) {
		if (wisp_gate_may_warn(g, GATE_WARN_BIND))
			wisp_log(g->ctx, WISP_LOG_WARN, "bind of client %s (conn %d) "
				"refused: a connection is bound in at most %d ranges of "
				"command ids", c->addr, c->id, ROUTES_MAX);
		return;
	}
	set_routes(g, c, next, n);
}

static void set_session(struct gate_conn *c,
	const struct wisp_gate_session *s)
{
	struct gate_bind *b = bind_of(c);
	size_t size = s ? s->size : 0;
	if (size > b->session_size)
		b = c->bind = wisp_realloc(b, sizeof(*b) + size);
	b->session_size = (uint32_t)size;
	b->has_session = s != NULL;
	b->uid = s ? s->uid : 0;
	if (size)
		memcpy(b->session, s->data, size);
	tidy(c);
}

void wisp_gate_bind_op(struct gate *g, wisp_handle source,
	const struct wisp_gate_op *op)
{
	struct wisp_gate_binding b;
	struct wisp_gate_session s;
	int has = 0;
	if (op->op == WISP_GATE_SESSION) {
		if ((has = wisp_gate_session_decode(op, &s)) < 0) {
			wisp_gate_bad_op(g, source, "session data over "
				"WISP_GATE_SESSION_MAX (1024 bytes) or cut short");
			return;
		}
	} else if (wisp_gate_binding_decode(op, &b) < 0) {
		wisp_gate_bad_op(g, source, "not a well-formed binding");
		return;
	}
	for (uint32_t i = 0; i < op->count; i++) {
		struct gate_conn *c = wisp_gate_conn(g, wisp_gate_op_conn(op, i));
		if (c == NULL)
			continue;
		if (op->op == WISP_GATE_SESSION)
			set_session(c, has ? &s : NULL);
		else
			bind_one(g, c, op->op, &b);
	}
}

/* ---- frames and events ---- */

static int is_handle(wisp_handle to, uintptr_t arg)
{
	return to == (wisp_handle)arg;
}

wisp_handle wisp_gate_bound(struct gate *g, struct gate_conn *c,
	uint32_t command)
{
	const struct gate_bind *b = c->bind;
	for (uint32_t i = 0; i < b->nroutes && b->routes[i].lo <= command; i++) {
		wisp_handle to = b->routes[i].to;
		if (command > b->routes[i].hi)
			continue;
		if (g->bound_gone.count == 0
			|| wisp_keymap_get(&g->bound_gone, to) == NULL)
			return to;
		drop_routes(g, c, is_handle, to);
		return 0;
	}
	return 0;
}

int wisp_gate_session_of(const struct gate_conn *c,
	struct wisp_gate_session *s)
{
	const struct gate_bind *b = c->bind;
	if (b == NULL || !b->has_session)
		return 0;
	*s = (struct wisp_gate_session){ b->uid, b->session, b->session_size };
	return 1;
}

void wisp_gate_unbind_closed(struct gate *g, struct gate_conn *c,
	const char *why)
{
	struct gate_bind *b = c->bind;
	for (uint32_t i = 0; i < b->nroutes; i++) {
		wisp_handle to = b->routes[i].to;
		if (!has_target(b->routes, i, to)
			&& wisp_keymap_get(&g->bound_gone, to) == NULL)
			wisp_gate_tell(g, c, to, WISP_GATE_CLOSE, why);
	}
	count_routes(g, b->routes, b->nroutes, -1);
	wisp_free(b->routes);
	wisp_free(b);
	c->bind = NULL;
}

/* ---- services and nodes that are gone ---- */

/* The runtime's words for a service that is not there (message.c,
 * service.c, the Lua host), as opposed to a handler's error. */
static int says_gone(const char *why)
{
	return strncmp(why, "no service :", 12) == 0
		|| (strncmp(why, "service :", 9) == 0 && strstr(why, ") exited"));
}

void wisp_gate_bind_error(struct gate *g, wisp_handle source,
	const void *msg, size_t sz)
{
	char why[160];
	if (source == 0 || refs(g, source) == 0)
		return;
	snprintf(why, sizeof(why), "%.*s", (int)(sz < sizeof(why) ? sz
		: sizeof(why) - 1), msg ? (const char *)msg : "");
	if (!says_gone(why) || wisp_keymap_get(&g->bound_gone, source))
		return;
	/* its connections drop it as their frames come: no walk over all */
	wisp_keymap_put(&g->bound_gone, source, (void *)1);
	if (wisp_gate_may_warn(g, GATE_WARN_BIND))
		wisp_log(g->ctx, WISP_LOG_INFO, "bound service :%08x is gone (%s): "
			"its connections' frames go to gate.commands again", source, why);
}

static int on_node(wisp_handle to, uintptr_t node)
{
	return WISP_HANDLE_NODE(to) == node;
}

/* "down NAME ID": handles of a node that comes back name other services,
 * so every binding to it goes now. */
void wisp_gate_bind_node(struct gate *g, const void *msg, size_t sz)
{
	char text[96], name[96];
	unsigned node;
	snprintf(text, sizeof(text), "%.*s", (int)(sz < sizeof(text) ? sz
		: sizeof(text) - 1), msg ? (const char *)msg : "");
	if (g->bound_refs.count == 0
		|| sscanf(text, "down %95s %u", name, &node) != 2)
		return;
	uint32_t dropped = 0;
	for (uint32_t i = 0; i < g->count; i++) {
		struct gate_conn *c = g->list[i];
		uint32_t had = c->bind ? c->bind->nroutes : 0;
		if (had)
			drop_routes(g, c, on_node, node);
		dropped += had != (c->bind ? c->bind->nroutes : 0);
	}
	if (dropped)
		wisp_log(g->ctx, WISP_LOG_INFO, "node %s is down: %u connections "
			"bound there send to gate.commands again", name, dropped);
}

void wisp_gate_bind_free(struct gate *g)
{
	wisp_keymap_free(&g->bound_refs);
	wisp_keymap_free(&g->bound_gone);
}
