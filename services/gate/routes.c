/* routes.c: gate.commands as the gate's own table, made once at start,
 * with where each route goes resolved once rather than by name for every
 * frame. A route's "name" or "name@node" becomes a handle, kept while it
 * is good: for a service of this node, while it lives; for one on another
 * node, until the harbor's epoch of that node changes (it went down, came
 * back, or said that the handle is gone: harbor/resolve.c), and then it
 * is asked again. Until a handle is known (and while the node is down)
 * the route goes by name. */
#include <string.h>
#include "gate_service.h"
#include "handle.h"
#include "names.h"
#include "node.h"
#include "remote.h"

struct gate_command_route {
	uint32_t first, last;
	int ordered;
	const char *service; /* as the config says it: the config outlives us */
	wisp_handle handle;  /* 0: by name */
	uint32_t node;       /* the service's node; 0: not one of the config */
	uint32_t epoch;      /* that node's when handle was found */
	char name[WISP_NAME_MAX + 1]; /* the service's name on its node */
};

/* "name" (this node) or "name@node". */
static void parse(struct gate_command_route *t, const char *service)
{
	const char *at = strchr(service, '@');
	size_t n = at ? (size_t)(at - service) : strlen(service);
	if (n == 0 || n > WISP_NAME_MAX)
		return;
	memcpy(t->name, service, n);
	const struct wisp_peer *p = at
		? wisp_config_peer(wisp_node_config(), at + 1) : NULL;
	t->node = at ? (p ? p->id : 0) : wisp_node_id();
}

void wisp_gate_routes_init(struct gate *g)
{
	size_t n = g->cfg->route_count;
	g->routes = wisp_malloc((n ? n : 1) * sizeof(*g->routes));
	memset(g->routes, 0, (n ? n : 1) * sizeof(*g->routes));
	g->route_count = n;
	for (size_t i = 0; i < n; i++) {
		const struct wisp_command_route *r = &g->cfg->routes[i];
		struct gate_command_route *t = &g->routes[i];
		t->first = r->first;
		t->last = r->last;
		t->ordered = r->ordered;
		t->service = r->service;
		parse(t, r->service);
	}
}

/* The route covering command (the table is sorted, none overlapping), or
 * NULL. */
static struct gate_command_route *find(const struct gate *g,
	uint32_t command)
{
	size_t lo = 0, hi = g->route_count;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		struct gate_command_route *t = &g->routes[mid];
		if (command < t->first)
			hi = mid;
		else if (command > t->last)
			lo = mid + 1;
		else
			return t;
	}
	return NULL;
}

int wisp_gate_route_ordered(const struct gate *g, uint32_t command)
{
	const struct gate_command_route *t = find(g, command);
	return t == NULL || t->ordered;
}

static int still_good(const struct gate_command_route *t)
{
	if (t->node == wisp_node_id())
		return wisp_handle_grab(t->handle) != NULL;
	return t->epoch == wisp_remote_epoch(t->node);
}

static wisp_handle target(struct gate_command_route *t)
{
	if (t->handle && still_good(t))
		return t->handle;
	if (t->node == wisp_node_id()) {
		t->handle = wisp_names_find(t->name);
	} else if (t->node) {
		t->epoch = wisp_remote_epoch(t->node);
		t->handle = wisp_remote_resolve(t->node, t->name);
	}
	return t->handle;
}

int wisp_gate_route_of(struct gate *g, uint32_t command, wisp_handle *to,
	const char **service)
{
	struct gate_command_route *t = find(g, command);
	if (t == NULL)
		return -1;
	*to = target(t);
	*service = t->service;
	return 0;
}

void wisp_gate_routes_free(struct gate *g)
{
	wisp_free(g->routes);
	g->routes = NULL;
	g->route_count = 0;
}
