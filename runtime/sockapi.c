/* sockapi.c: the wisp_socket_* calls of wisp.h: the socket layer, with
 * the calling service as the owner of what it opens. */
#include "service.h"
#include "socket.h"

int wisp_socket_listen(struct wisp_context *ctx, const char *host, int port,
	int backlog)
{
	return wisp_net_listen(ctx->handle, host, port, backlog);
}

int wisp_socket_connect(struct wisp_context *ctx, const char *host, int port)
{
	return wisp_net_connect(ctx->handle, host, port);
}

int wisp_socket_start(struct wisp_context *ctx, int id)
{
	return wisp_net_start(ctx->handle, id);
}

int wisp_socket_write(struct wisp_context *ctx, int id, const void *data,
	size_t sz)
{
	(void)ctx;
	return wisp_net_write(id, data, sz);
}

void wisp_socket_close(struct wisp_context *ctx, int id)
{
	(void)ctx;
	wisp_net_close(id);
}
