/* routes.c: where each route of gate.commands goes, resolved once rather
 * than by name for every frame. A route's "name" or "name@node" becomes a
 * handle, kept while it is good: for a service of this node, while it
 * lives; for one on another node, until the harbor's epoch of that node
 * changes (it went down, came back, or said that the handle is gone:
 * harbor/resolve.c), and then it is asked again. Until a handle is known
 * (and while the node is down) the route goes by name. */
#include <string.h>
#include "gate_service.h"
#include "handle.h"
#include "names.h"
#include "node.h"
#include "remote.h"

struct gate_route {
	wisp_handle handle; /* 0: by name */
	uint32_t node;      /* the service's node; 0: not one of the config */
	uint32_t epoch;     /* that node's when handle was found */
	char name[WISP_NAME_MAX + 1]; /* the service's name on its node */
};

/* "name" (this node) or "name@node". */
static void parse(struct gate_route *t, const char *service)
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

static struct gate_route *route_of(struct gate *g,
	const struct wisp_command_route *r)
{
	if (g->routes == NULL) {
		size_t n = g->cfg->route_count;
		g->routes = wisp_malloc(n * sizeof(*g->routes));
		memset(g->routes, 0, n * sizeof(*g->routes));
		for (size_t i = 0; i < n; i++)
			parse(&g->routes[i], g->cfg->routes[i].service);
	}
	return &g->routes[r - g->cfg->routes];
}

static int still_good(const struct gate_route *t)
{
	if (t->node == wisp_node_id())
		return wisp_handle_grab(t->handle) != NULL;
	return t->epoch == wisp_remote_epoch(t->node);
}

wisp_handle wisp_gate_route_target(struct gate *g,
	const struct wisp_command_route *r)
{
	struct gate_route *t = route_of(g, r);
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

void wisp_gate_routes_free(struct gate *g)
{
	wisp_free(g->routes);
	g->routes = NULL;
}
