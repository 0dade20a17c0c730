/* message.c: moving messages between services: send by handle or name,
 * sessions, and the error replies that make every call end. */
#include <stdarg.h>
#include <stdio.h>
#include "handle.h"
#include "names.h"
#include "scheduler.h"
#include "service.h"

int wisp_is_request(int type)
{
	switch (type) {
	case WISP_MSG_RESPONSE:
	case WISP_MSG_ERROR:
	case WISP_MSG_TIMER:
	case WISP_MSG_SOCKET:
	case WISP_MSG_EXIT:
		return 0;
	default:
		return 1;
	}
}

void wisp_bounce(wisp_handle from, wisp_handle to, int session,
	const char *fmt, ...)
{
	if (session <= 0 || to == 0)
		return;
	char buf[256];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	size_t len = (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1;
	wisp_deliver(from, to, WISP_MSG_ERROR, session, wisp_strdup(buf), len);
}

/* The message could not be queued: free it and answer a request. */
static int undeliverable(wisp_handle source, wisp_handle dest, int type,
	int session, void *data)
{
	wisp_free(data);
	if (!wisp_is_request(type))
		return -1;
	if (WISP_HANDLE_NODE(dest) != wisp_node_id())
		wisp_bounce(dest, source, session, "node %u is not reachable",
			WISP_HANDLE_NODE(dest));
	else
		wisp_bounce(dest, source, session, "no service :%08x", dest);
	return -1;
}

int wisp_deliver(wisp_handle source, wisp_handle dest, int type, int session,
	void *data, size_t sz)
{
	struct wisp_context *to = wisp_handle_grab(dest);
	if (to == NULL)
		return undeliverable(source, dest, type, session, data);
	struct wisp_message m = {
		.source = source,
		.session = session,
		.type = type,
		.data = data,
		.size = sz,
	};
	wisp_mailbox_push(&to->mailbox, &m);
	wisp_schedule(to);
	return 0;
}

int wisp_send(struct wisp_context *ctx, wisp_handle dest, int type,
	int session, void *msg, size_t sz)
{
	return wisp_deliver(ctx->handle, dest, type, session, msg, sz);
}

int wisp_send_name(struct wisp_context *ctx, const char *name, int type,
	int session, void *msg, size_t sz)
{
	wisp_handle dest = wisp_names_find(name);
	if (dest)
		return wisp_deliver(ctx->handle, dest, type, session, msg, sz);
	wisp_free(msg);
	if (wisp_is_request(type))
		wisp_bounce(0, ctx->handle, session, "no service named '%s'", name);
	return -1;
}

int wisp_new_session(struct wisp_context *ctx)
{
	if (ctx->session == 0x7fffffff)
		ctx->session = 0;
	return ++ctx->session;
}
