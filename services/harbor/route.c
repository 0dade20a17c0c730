/* route.c: the runtime's way out (remote.h), through the running harbor.
 * Without one, other nodes are unreachable and requests say so. */
#include <stdio.h>
#include <string.h>
#include "config.h"
#include "harbor_service.h"
#include "remote.h"
#include "service.h"

/* Why the harbor refused the last message it did not send. */
static char refusal[160];

int wisp_harbor_refuse(wisp_handle source, int session, int type,
	const char *why)
{
	snprintf(refusal, sizeof(refusal), "%s", why);
	if (wisp_is_request(type))
		wisp_bounce(0, source, session, "%s", why);
	return -1;
}

const char *wisp_remote_refusal(void)
{
	return refusal;
}

/* Frees data; a request is answered with the reason. */
static int refuse(wisp_handle source, int session, int type, void *data,
	const char *why)
{
	wisp_free(data);
	return wisp_harbor_refuse(source, session, type, why);
}

static int send_msg(struct harbor *h, uint32_t node,
	struct wisp_harbor_msg *m, void *data, size_t sz)
{
	struct link *l = wisp_link(h, node);
	if (l == NULL) {
		char why[64];
		snprintf(why, sizeof(why), "node %u is not in the cluster", node);
		return refuse(m->source, m->session, m->type, data, why);
	}
	m->payload = data;
	m->size = sz;
	int rc = wisp_link_send(h, l, m);
	wisp_free(data);
	return rc;
}

int wisp_remote_send(wisp_handle source, wisp_handle dest, int type,
	int session, void *data, size_t sz)
{
	struct harbor *h = wisp_harbor_active;
	if (h == NULL) {
		char why[64];
		snprintf(why, sizeof(why), "node %u is not reachable",
			WISP_HANDLE_NODE(dest));
		return refuse(source, session, type, data, why);
	}
	/* a message from nobody (an error reply of the runtime's) goes out
	 * as the harbor's, since a peer accepts only sources of this node */
	struct wisp_harbor_msg m = { .dest = dest,
		.source = source ? source : wisp_self(h->ctx),
		.session = session, .type = (uint8_t)type };
	return send_msg(h, WISP_HANDLE_NODE(dest), &m, data, sz);
}

int wisp_remote_send_named(wisp_handle source, const char *node,
	const char *name, int type, int session, void *data, size_t sz)
{
	struct harbor *h = wisp_harbor_active;
	const struct wisp_peer *p = h ? wisp_config_peer(h->cfg, node) : NULL;
	if (p == NULL) {
		char why[128];
		snprintf(why, sizeof(why), h ? "no node named '%s'"
			: "node '%s' is not reachable", node);
		return refuse(source, session, type, data, why);
	}
	struct wisp_harbor_msg m = { .source = source ? source
		: wisp_self(h->ctx), .session = session, .type = (uint8_t)type };
	size_t n = strnlen(name, sizeof(m.name) - 1); /* names are short */
	memcpy(m.name, name, n);
	m.name[n] = '\0';
	return send_msg(h, p->id, &m, data, sz);
}

wisp_handle wisp_remote_global(const char *name)
{
	struct harbor *h = wisp_harbor_active;
	for (size_t i = 0; h && i < h->name_count; i++)
		if (strcmp(h->names[i].name, name) == 0)
			return h->names[i].handle;
	return 0;
}

void wisp_remote_gone(wisp_handle handle)
{
	struct harbor *h = wisp_harbor_active;
	for (size_t i = 0; h && i < h->name_count; i++)
		if (h->names[i].handle == handle) {
			wisp_directory_gone(h, handle);
			return;
		}
}

int wisp_remote_active(void)
{
	return wisp_harbor_active != NULL;
}

void wisp_remote_flush(void)
{
	struct harbor *h = wisp_harbor_active;
	while (h && h->dirty) {
		struct link *l = h->dirty;
		h->dirty = l->next_dirty;
		l->next_dirty = NULL;
		l->dirty = 0;
		wisp_link_flush(h, l);
	}
}
