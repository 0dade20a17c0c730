/* message.c: moving messages between services: send by handle or name,
 * sessions, and the error replies that make every call end. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "handle.h"
#include "names.h"
#include "node.h"
#include "remote.h"
#include "scheduler.h"
#include "service.h"
#include "trace.h"

int wisp_is_request(int type)
{
	switch (type) {
	case WISP_MSG_RESPONSE:
	case WISP_MSG_ERROR:
	case WISP_MSG_TIMER:
	case WISP_MSG_SOCKET:
	case WISP_MSG_EXIT:
	case WISP_MSG_NODE:
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

/* Why the last send that failed did. */
static const char *refusal = "";

const char *wisp_send_refusal(void)
{
	return refusal;
}

/* The message could not be queued: free it and answer a request. */
static int undeliverable(wisp_handle source, wisp_handle dest, int type,
	int session, void *data)
{
	refusal = "no such service";
	wisp_free(data);
	if (wisp_is_request(type))
		wisp_bounce(dest, source, session, "no service :%08x", dest);
	return -1;
}

/* Whether one more request of sz bytes would pass to's limits: its
 * mailbox's, and for a service with a memory limit (Lua), its memory and
 * queued mail together. Answers and events are not held to them. */
static int full(const struct wisp_context *to, int type, size_t sz)
{
	if (!wisp_is_request(type))
		return 0;
	const struct wisp_mailbox *mb = &to->mailbox;
	if (mb->count >= to->mailbox_max || sz > to->mailbox_bytes_max
		|| mb->bytes > to->mailbox_bytes_max - sz)
		return 1;
	return to->memory_limit && to->memory + mb->bytes + sz > to->memory_limit;
}

/* The name a refusal shows: the service's first name, else its label. */
static const char *shown_name(const struct wisp_context *to)
{
	return to->name_count ? to->names[0] : wisp_service_label(to);
}

static int overloaded(wisp_handle source, struct wisp_context *to,
	int session, void *data)
{
	refusal = "overloaded";
	wisp_free(data);
	to->refused++;
	wisp_bounce(to->handle, source, session, "service %s (:%08x) is "
		"overloaded", shown_name(to), to->handle);
	return -1;
}

static int remote(int rc)
{
	if (rc < 0)
		refusal = "node unreachable";
	return rc;
}

int wisp_deliver(wisp_handle source, wisp_handle dest, int type, int session,
	void *data, size_t sz)
{
	if (WISP_HANDLE_NODE(dest) != wisp_node_id())
		return remote(wisp_remote_send(source, dest, type, session, data, sz));
	struct wisp_context *to = wisp_handle_grab(dest);
	if (to == NULL)
		return undeliverable(source, dest, type, session, data);
	if (full(to, type, sz))
		return overloaded(source, to, session, data);
	struct wisp_message m = {
		.source = source,
		.session = session,
		.type = type,
		.data = data,
		.size = sz,
		.trace = wisp_trace_now.current,
	};
	wisp_mailbox_push(&to->mailbox, &m);
	wisp_schedule(to);
	return 0;
}

/* A call (a request with a session) sent while no trace is current
 * starts one, unless the service asked to start none. */
static inline void start_trace(const struct wisp_context *ctx, int type,
	int session)
{
	if (session > 0 && wisp_trace_now.current == 0 && !ctx->untraced
		&& wisp_is_request(type))
		wisp_trace_adopt(wisp_trace_new());
}

int wisp_send(struct wisp_context *ctx, wisp_handle dest, int type,
	int session, void *msg, size_t sz)
{
	start_trace(ctx, type, session);
	return wisp_deliver(ctx->handle, dest, type, session, msg, sz);
}

/* "name@node": a local name when node is this one, else the harbor's. */
static int send_at(struct wisp_context *ctx, const char *name,
	const char *at, int type, int session, void *msg, size_t sz)
{
	char local[WISP_NAME_MAX + 1];
	size_t n = (size_t)(at - name);
	if (n == 0 || n > WISP_NAME_MAX) {
		refusal = "bad address";
		wisp_free(msg);
		if (wisp_is_request(type))
			wisp_bounce(0, ctx->handle, session, "bad address '%s'", name);
		return -1;
	}
	memcpy(local, name, n);
	local[n] = '\0';
	if (strcmp(at + 1, wisp_node_name()) != 0)
		return remote(wisp_remote_send_named(ctx->handle, at + 1, local,
			type, session, msg, sz));
	return wisp_send_name(ctx, local, type, session, msg, sz);
}

int wisp_send_name(struct wisp_context *ctx, const char *name, int type,
	int session, void *msg, size_t sz)
{
	start_trace(ctx, type, session);
	const char *at = strchr(name, '@');
	if (at)
		return send_at(ctx, name, at, type, session, msg, sz);
	wisp_handle dest = wisp_query(name);
	if (dest)
		return wisp_deliver(ctx->handle, dest, type, session, msg, sz);
	refusal = "no such service";
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
