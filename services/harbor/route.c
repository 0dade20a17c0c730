/* route.c: the runtime's way out (runtime/remote.h), through the running
 * harbor: the hooks it registers while it runs. Without a harbor, other
 * nodes are unreachable and the runtime's requests say so. */
#include <stdio.h>
#include <string.h>
#include "config.h"
#include "harbor_service.h"
#include "remote.h"
#include "service.h"
#include "trace.h"

/* Frees data; a request is answered with the reason. */
static int refuse(wisp_handle source, int session, int type, void *data,
	const char *why)
{
	wisp_free(data);
	return wisp_remote_refuse(source, session, type, why);
}

static int send_msg(struct harbor *h, uint32_t node,
	struct wisp_harbor_msg *m, void *data, size_t sz)
{
	struct harbor_link *l = wisp_harbor_link(h, node);
	if (l == NULL) {
		char why[64];
		snprintf(why, sizeof(why), "node %u is not in the cluster", node);
		return refuse(m->source, m->session, m->type, data, why);
	}
	m->payload = data;
	m->size = sz;
	int rc = wisp_harbor_link_send(h, l, m);
	wisp_free(data);
	return rc;
}

static int route_send(wisp_handle source, wisp_handle dest, int type,
	int session, void *data, size_t sz)
{
	struct harbor *h = wisp_harbor_active;
	/* a message from nobody (an error reply of the runtime's) goes out
	 * as the harbor's, since a peer accepts only sources of this node */
	struct wisp_harbor_msg m = { .dest = dest,
		.source = source ? source : wisp_self(h->ctx),
		.session = session, .type = (uint8_t)type,
		.trace = wisp_trace_now.current };
	return send_msg(h, WISP_HANDLE_NODE(dest), &m, data, sz);
}

static int route_send_named(wisp_handle source, const char *node,
	const char *name, int type, int session, void *data, size_t sz)
{
	struct harbor *h = wisp_harbor_active;
	const struct wisp_peer *p = wisp_config_peer(h->cfg, node);
	if (p == NULL) {
		char why[128];
		snprintf(why, sizeof(why), "no node named '%s'", node);
		return refuse(source, session, type, data, why);
	}
	struct wisp_harbor_msg m = { .source = source ? source
		: wisp_self(h->ctx), .session = session, .type = (uint8_t)type,
		.trace = wisp_trace_now.current };
	size_t n = strnlen(name, sizeof(m.name) - 1); /* names are short */
	memcpy(m.name, name, n);
	m.name[n] = '\0';
	return send_msg(h, p->id, &m, data, sz);
}

static wisp_handle route_global(const char *name)
{
	struct harbor *h = wisp_harbor_active;
	for (size_t i = 0; i < h->name_count; i++)
		if (strcmp(h->names[i].name, name) == 0)
			return h->names[i].handle;
	return 0;
}

static void route_gone(wisp_handle handle)
{
	struct harbor *h = wisp_harbor_active;
	for (size_t i = 0; i < h->name_count; i++)
		if (h->names[i].handle == handle) {
			wisp_directory_gone(h, handle);
			return;
		}
}

static void route_flush(void)
{
	struct harbor *h = wisp_harbor_active;
	while (h->dirty) {
		struct harbor_link *l = h->dirty;
		h->dirty = l->next_dirty;
		l->next_dirty = NULL;
		l->dirty = 0;
		wisp_harbor_link_flush(h, l);
	}
}

/* Registered only while wisp_harbor_active is set, so none of them needs
 * to ask whether a harbor runs. */
static const struct wisp_remote_ops hooks = {
	.send = route_send,
	.send_named = route_send_named,
	.resolve = wisp_harbor_resolve,
	.epoch = wisp_harbor_epoch,
	.global = route_global,
	.gone = route_gone,
	.flush = route_flush,
};

void wisp_harbor_route_start(struct harbor *h)
{
	wisp_harbor_active = h;
	wisp_remote_register(&hooks);
}

void wisp_harbor_route_stop(struct harbor *h)
{
	if (wisp_harbor_active != h)
		return;
	wisp_remote_register(NULL);
	wisp_harbor_active = NULL;
}
