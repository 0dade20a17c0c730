/* resolve.c: the handles behind other nodes' service names, so that what
 * sends to "name@node" again and again (the gate's routes) can send by
 * handle, with no name to look up on either side. A name is asked of its
 * node once; the answer is kept until the node goes down, comes back or
 * its link is lost, or until the node says that a handle it gave is gone
 * (it says so when a request comes by handle to a service it no longer
 * has). Each of these changes the link's epoch, which is how a holder of
 * an answer knows to ask again (the runtime's wisp_remote_resolve and
 * wisp_remote_epoch, route.c's hooks). */
#include <stdio.h>
#include <string.h>
#include "harbor_service.h"
#include "names.h"
#include "service.h"

#define RESOLVE_RETRY_MS 1000 /* a name nobody held is asked again after */
#define RESOLVE_MAX 1024      /* names kept per peer; more go by name */

static struct resolved *find(struct harbor_link *l, const char *name)
{
	for (uint32_t i = 0; i < l->resolved_count; i++)
		if (strcmp(l->resolved[i].name, name) == 0)
			return &l->resolved[i];
	return NULL;
}

static struct resolved *add(struct harbor *h, struct harbor_link *l,
	const char *name)
{
	if (l->resolved_count == RESOLVE_MAX)
		return NULL;
	if (l->resolved_count + 1 == RESOLVE_MAX)
		wisp_log(h->ctx, WISP_LOG_WARN, "%d names of node %s resolved "
			"(RESOLVE_MAX): more are sent by name", RESOLVE_MAX,
			l->peer->name);
	struct resolved fresh = { .handle = 0 };
	snprintf(fresh.name, sizeof(fresh.name), "%s", name);
	l->resolved = wisp_realloc(l->resolved,
		(l->resolved_count + 1) * sizeof(*l->resolved));
	l->resolved[l->resolved_count] = fresh;
	return &l->resolved[l->resolved_count++];
}

static void ask(struct harbor *h, struct harbor_link *l, struct resolved *r)
{
	struct wisp_cluster_cmd cmd = { .op = WISP_CLUSTER_RESOLVE };
	snprintf(cmd.name, sizeof(cmd.name), "%s", r->name);
	r->asked_ms = wisp_harbor_now() + RESOLVE_RETRY_MS;
	wisp_directory_send(h, l->peer->id, wisp_self(h->ctx), 0, &cmd);
}

/* A peer the directory says is down is not asked (where there is a
 * directory: without roots, nodes are never said to be up). */
wisp_handle wisp_harbor_resolve(uint32_t node, const char *name)
{
	struct harbor *h = wisp_harbor_active;
	struct harbor_link *l = h ? wisp_harbor_link(h, node) : NULL;
	if (l == NULL || (h->cfg->root_count && !l->up)
		|| !wisp_name_valid(name))
		return 0;
	struct resolved *r = find(l, name);
	if (r == NULL && (r = add(h, l, name)) == NULL)
		return 0;
	if (r->handle == 0 && wisp_harbor_now() >= r->asked_ms)
		ask(h, l, r);
	return r->handle;
}

uint32_t wisp_harbor_epoch(uint32_t node)
{
	struct harbor *h = wisp_harbor_active;
	struct harbor_link *l = h ? wisp_harbor_link(h, node) : NULL;
	return l ? l->epoch : 0;
}

void wisp_resolve_asked(struct harbor *h, wisp_handle source,
	const char *name)
{
	struct wisp_cluster_cmd cmd = { .op = WISP_CLUSTER_RESOLVED,
		.value = wisp_names_find(name) };
	snprintf(cmd.name, sizeof(cmd.name), "%s", name);
	wisp_directory_send(h, WISP_HANDLE_NODE(source), wisp_self(h->ctx), 0,
		&cmd);
}

void wisp_resolve_answered(struct harbor *h, wisp_handle source,
	const char *name, wisp_handle handle)
{
	uint32_t node = WISP_HANDLE_NODE(source);
	struct harbor_link *l = wisp_harbor_link(h, node);
	struct resolved *r = l ? find(l, name) : NULL;
	if (r && (handle == 0 || WISP_HANDLE_NODE(handle) == node))
		r->handle = handle;
}

void wisp_resolve_stale(struct harbor *h, wisp_handle source,
	wisp_handle gone)
{
	struct harbor_link *l = wisp_harbor_link(h, WISP_HANDLE_NODE(source));
	if (l == NULL || gone == 0)
		return;
	for (uint32_t i = 0; i < l->resolved_count; i++)
		if (l->resolved[i].handle == gone) {
			l->resolved[i].handle = 0;
			l->resolved[i].asked_ms = 0;
			l->epoch++;
		}
}

/* Said once per handle: what is in flight to it needs no more notices. */
void wisp_resolve_missed(struct harbor *h, struct harbor_link *l,
	wisp_handle gone)
{
	if (l->stale_sent == gone)
		return;
	l->stale_sent = gone;
	struct wisp_cluster_cmd cmd = { .op = WISP_CLUSTER_STALE, .value = gone };
	wisp_directory_send(h, l->peer->id, wisp_self(h->ctx), 0, &cmd);
}

void wisp_resolve_forget(struct harbor_link *l)
{
	wisp_free(l->resolved);
	l->resolved = NULL;
	l->resolved_count = 0;
	l->stale_sent = 0;
	l->epoch++;
}
