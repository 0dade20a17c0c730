/* remote.c: the way out of the node (remote.h): through the hooks a
 * linking service registered, or, without them, a refusal that says the
 * node is not reachable. */
#include <stdio.h>
#include "remote.h"
#include "service.h"

static const struct wisp_remote_ops *ops;
/* Why the last message that could not leave was refused. */
static char refusal[160];

void wisp_remote_register(const struct wisp_remote_ops *o)
{
	ops = o;
}

int wisp_remote_refuse(wisp_handle source, int session, int type,
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

int wisp_remote_send(wisp_handle source, wisp_handle dest, int type,
	int session, void *data, size_t sz)
{
	if (ops)
		return ops->send(source, dest, type, session, data, sz);
	char why[64];
	snprintf(why, sizeof(why), "node %u is not reachable",
		WISP_HANDLE_NODE(dest));
	wisp_free(data);
	return wisp_remote_refuse(source, session, type, why);
}

int wisp_remote_send_named(wisp_handle source, const char *node,
	const char *name, int type, int session, void *data, size_t sz)
{
	if (ops)
		return ops->send_named(source, node, name, type, session, data, sz);
	char why[128];
	snprintf(why, sizeof(why), "node '%s' is not reachable", node);
	wisp_free(data);
	return wisp_remote_refuse(source, session, type, why);
}

wisp_handle wisp_remote_resolve(uint32_t node, const char *name)
{
	return ops ? ops->resolve(node, name) : 0;
}

uint32_t wisp_remote_epoch(uint32_t node)
{
	return ops ? ops->epoch(node) : 0;
}

wisp_handle wisp_remote_global(const char *name)
{
	return ops ? ops->global(name) : 0;
}

void wisp_remote_gone(wisp_handle h)
{
	if (ops)
		ops->gone(h);
}

int wisp_remote_active(void)
{
	return ops != NULL;
}

void wisp_remote_flush(void)
{
	if (ops)
		ops->flush();
}
