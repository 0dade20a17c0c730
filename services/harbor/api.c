/* api.c: the harbor's read-only face for other services (harbor_api.h):
 * answers from the running harbor's state, or what a node without a
 * harbor knows (nothing). */
#include <string.h>
#include "harbor_api.h"
#include "harbor_service.h"

int wisp_harbor_running(void)
{
	return wisp_harbor_active != NULL;
}

/* The link to node, if a harbor runs and node has one. */
static const struct harbor_link *link_of(struct harbor *h, uint32_t node)
{
	return h ? wisp_harbor_link(h, node) : NULL;
}

int wisp_harbor_node_up(uint32_t node)
{
	struct harbor *h = wisp_harbor_active;
	const struct harbor_link *l = link_of(h, node);
	return l && (h->cfg->root_count == 0 || l->up);
}

int wisp_harbor_link_of(uint32_t node, struct wisp_harbor_link *out)
{
	const struct harbor_link *l = link_of(wisp_harbor_active, node);
	memset(out, 0, sizeof(*out));
	if (l == NULL)
		return -1;
	*out = (struct wisp_harbor_link){ .up = l->up,
		.linked = l->out && l->out->state == CONN_UP,
		.bytes_in = l->bytes_in, .bytes_out = l->bytes_out,
		.frames_in = l->frames_in, .frames_out = l->frames_out,
		.named_out = l->named_out };
	return 0;
}

int wisp_harbor_watch_nodes(wisp_handle service)
{
	if (wisp_harbor_active == NULL)
		return -1;
	wisp_harbor_watch(wisp_harbor_active, service);
	return 0;
}

void wisp_harbor_unwatch_nodes(wisp_handle service)
{
	if (wisp_harbor_active)
		wisp_harbor_unwatch(wisp_harbor_active, service);
}

void wisp_harbor_watch_loads(void)
{
	if (wisp_harbor_active)
		wisp_load_watch(wisp_harbor_active);
}

int wisp_harbor_load(uint32_t node, uint32_t *services, uint32_t *cpu)
{
	struct harbor *h = wisp_harbor_active;
	const struct node_load *load = h ? wisp_load_of(h, node) : NULL;
	if (load == NULL || !load->known)
		return -1;
	*services = load->services;
	*cpu = load->cpu;
	return 0;
}

void wisp_harbor_count_pick(uint32_t node)
{
	struct harbor *h = wisp_harbor_active;
	struct node_load *load = h ? wisp_load_of(h, node) : NULL;
	if (load && load->known)
		load->services++;
}
