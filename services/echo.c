/* echo.c: the example C service. It listens on "host:port" from its args
 * and writes back whatever a client sends; on the node's stop it closes
 * its listener and exits. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "wisp.h"

struct echo {
	struct wisp_context *ctx;
	int listener;
	unsigned long clients;
	unsigned long long bytes;
};

void *echo_create(void)
{
	struct echo *e = wisp_malloc(sizeof(*e));
	memset(e, 0, sizeof(*e));
	e->listener = -1;
	return e;
}

static void on_socket(struct echo *e, const struct wisp_socket_msg *m)
{
	switch (m->event) {
	case WISP_SOCKET_ACCEPT:
		e->clients++;
		wisp_socket_start(e->ctx, m->ud);
		wisp_log(e->ctx, WISP_LOG_DEBUG, "client %d from %.*s", m->ud,
			(int)m->size, m->data);
		break;
	case WISP_SOCKET_DATA:
		e->bytes += m->size;
		wisp_socket_write(e->ctx, m->id, m->data, m->size);
		break;
	case WISP_SOCKET_ERROR:
		wisp_log(e->ctx, WISP_LOG_WARN, "socket %d: %.*s", m->id,
			(int)m->size, m->data);
		break;
	}
}

static int echo_cb(struct wisp_context *ctx, void *ud, int type, int session,
	wisp_handle source, void *msg, size_t sz)
{
	(void)session; (void)source; (void)sz;
	struct echo *e = ud;
	if (type == WISP_MSG_SOCKET) {
		on_socket(e, msg);
	} else if (type == WISP_MSG_EXIT) {
		wisp_socket_close(ctx, e->listener);
		wisp_exit(ctx);
	}
	return 0;
}

/* args: "host:port", e.g. "127.0.0.1:9000". */
int echo_init(void *inst, struct wisp_context *ctx, const char *args)
{
	struct echo *e = inst;
	char host[256];
	int port;
	e->ctx = ctx;
	if (sscanf(args, "%255[^:]:%d", host, &port) != 2)
		return wisp_fail(ctx, "echo wants \"host:port\", got \"%s\"", args);
	e->listener = wisp_socket_listen(ctx, host, port, 128);
	if (e->listener < 0)
		return wisp_fail(ctx, "cannot listen on %s:%d: %s", host, port,
			strerror(errno));
	wisp_set_callback(ctx, e, echo_cb);
	wisp_log(ctx, WISP_LOG_INFO, "listening on %s:%d", host, port);
	return 0;
}

void echo_release(void *inst)
{
	struct echo *e = inst;
	if (e->ctx)
		wisp_log(e->ctx, WISP_LOG_INFO, "released after %lu clients, "
			"%llu bytes", e->clients, e->bytes);
	wisp_free(e);
}
