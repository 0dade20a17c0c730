/* service.c: the gate as a service: its module entry points, its
 * listener, the open-file limit it needs, its messages and its tick (the
 * sweep of deadlines). builtin.c starts one on every node with the net
 * role; SIGHUP reloads gate.tls's certificate. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include "gate_service.h"
#include "harbor_api.h"
#include "module.h"
#include "node.h"
#include "process.h"
#include "socket.h"

/* Descriptors beyond the clients: the logger's file, the harbor's links,
 * epoll, signalfd, Lua services' sockets. */
#define SPARE_FDS 256
#define BACKLOG 4096

struct gate *wisp_gate_active;

static void arm_tick(struct gate *g)
{
	g->tick_session = wisp_new_session(g->ctx);
	wisp_timeout(g->ctx, wisp_gate_sweep_every(g), g->tick_session);
}

/* Raises the soft open-file limit as far as max_connections needs and the
 * hard limit allows, and says so when the hard limit is too low. */
static void raise_fd_limit(struct gate *g)
{
	uint64_t need = (uint64_t)g->cfg->max_connections + SPARE_FDS, was, now;
	int enough = wisp_fd_limit_raise(need, &was, &now) == 0;
	if (enough && now > was)
		wisp_log(g->ctx, WISP_LOG_INFO, "open-file limit raised from %llu to "
			"%llu for gate.max_connections %u", (unsigned long long)was,
			(unsigned long long)now, g->cfg->max_connections);
	else if (!enough)
		wisp_log(g->ctx, WISP_LOG_ERROR, "open-file limit: the hard limit is "
			"below the %llu that gate.max_connections %u needs, so this gate "
			"can hold only about %llu clients; raise the hard limit (ulimit "
			"-Hn, LimitNOFILE= for systemd) or lower gate.max_connections",
			(unsigned long long)need, g->cfg->max_connections,
			(unsigned long long)(now > SPARE_FDS ? now - SPARE_FDS : 0));
}

static void on_socket(struct gate *g, const struct wisp_socket_msg *m)
{
	if (m->event == WISP_SOCKET_ACCEPT) {
		wisp_gate_accepted(g, m->ud, m->data, m->id == g->ws_listener);
		return;
	}
	struct gate_conn *c = wisp_gate_conn(g, (uint32_t)m->id);
	if (c == NULL)
		return;
	switch (m->event) {
	case WISP_SOCKET_DATA:
		wisp_gate_data(g, c, (const uint8_t *)m->data, m->size);
		break;
	case WISP_SOCKET_CLOSE:
		wisp_gate_lost(g, c, "closed by the client");
		break;
	case WISP_SOCKET_ERROR:
		wisp_gate_lost(g, c, m->data);
		break;
	}
}

/* Stops accepting and closes every client, each flushed first. */
static void stop(struct gate *g)
{
	if (g->listener >= 0)
		wisp_net_close(g->listener);
	if (g->ws_listener >= 0)
		wisp_net_close(g->ws_listener);
	g->listener = g->ws_listener = -1;
	wisp_gate_broadcast_finish(g);
	while (g->count) {
		struct gate_conn *c = g->list[g->count - 1];
		if (c->ws)
			wisp_gate_ws_bye(c, 1001, "the node is stopping");
		wisp_gate_close(g, c, "the node is stopping");
	}
	wisp_exit(g->ctx);
}

static int gate_cb(struct wisp_context *ctx, void *ud, int type,
	int session, wisp_handle source, void *msg, size_t sz)
{
	struct gate *g = ud;
	switch (type) {
	case WISP_MSG_SOCKET:
		on_socket(g, msg);
		break;
	case WISP_MSG_GATE:
		wisp_gate_op(g, source, msg, sz);
		break;
	case WISP_MSG_TEXT:
		if (source == wisp_self(ctx) && msg) /* tls.c's, with a byte */
			wisp_gate_tls_flush(g);
		else if (source == wisp_self(ctx)) /* broadcast.c's come back */
			wisp_gate_broadcast_turn(g);
		break;
	case WISP_MSG_RESPONSE:
	case WISP_MSG_ERROR:
		if (type == WISP_MSG_ERROR)
			wisp_gate_bind_error(g, source, msg, sz);
		wisp_gate_answer(g, type, session, msg, sz);
		break;
	case WISP_MSG_NODE:
		wisp_gate_bind_node(g, msg, sz);
		break;
	case WISP_MSG_TIMER:
		if (session == g->tick_session) {
			wisp_gate_sweep(g, wisp_now());
			wisp_gate_flow_sweep(g, wisp_now());
			arm_tick(g);
		}
		break;
	case WISP_MSG_EXIT:
		stop(g);
		break;
	}
	return 0;
}

static void *gate_create(void)
{
	struct gate *g = wisp_malloc(sizeof(*g));
	memset(g, 0, sizeof(*g));
	g->listener = g->ws_listener = -1;
	return g;
}

static void set_proto(struct gate *g)
{
	memcpy(g->proto.magic, g->cfg->magic, sizeof(g->proto.magic));
	g->proto.proto_version = g->cfg->proto_version;
	g->proto.server_version = g->cfg->server_version;
	g->proto.max_body = g->cfg->max_body;
}

/* gate.ws_listen, if given: WebSocket clients (ws.c). */
static int listen_ws(struct gate *g)
{
	const struct wisp_gate_settings *s = g->cfg;
	if (s->ws_host == NULL)
		return 0;
	g->ws_listener = wisp_socket_listen(g->ctx, s->ws_host, s->ws_port,
		BACKLOG);
	if (g->ws_listener < 0)
		return wisp_fail(g->ctx, "cannot listen on %s:%d for WebSocket "
			"clients: %s", s->ws_host, s->ws_port, strerror(errno));
	g->ws_port = wisp_net_port(g->ws_listener);
	wisp_log(g->ctx, WISP_LOG_INFO, "gate listening for WebSocket clients "
		"on %s:%d", s->ws_host, g->ws_port);
	return 0;
}

static int gate_init(void *inst, struct wisp_context *ctx, const char *args)
{
	(void)args;
	struct gate *g = inst;
	const struct wisp_config *cfg = wisp_node_config();
	g->ctx = ctx;
	g->cfg = cfg ? wisp_gate_settings(cfg) : NULL;
	if (g->cfg == NULL || g->cfg->host == NULL)
		return wisp_fail(ctx, "the gate needs gate.listen in the config");
	set_proto(g);
	wisp_gate_routes_init(g);
	if (wisp_gate_tls_init(g) < 0)
		return -1;
	raise_fd_limit(g);
	g->listener = wisp_socket_listen(ctx, g->cfg->host, g->cfg->port, BACKLOG);
	if (g->listener < 0)
		return wisp_fail(ctx, "cannot listen on %s:%d for clients: %s",
			g->cfg->host, g->cfg->port, strerror(errno));
	if (wisp_register(ctx, WISP_GATE_NAME) < 0)
		return wisp_fail(ctx, "another gate runs on this node");
	g->port = wisp_net_port(g->listener);
	if (listen_ws(g) < 0)
		return -1;
	wisp_set_callback(ctx, g, gate_cb);
	wisp_gate_active = g;
	/* bindings to a node that goes down go */
	wisp_harbor_watch_nodes(wisp_self(ctx));
	arm_tick(g);
	wisp_log(ctx, WISP_LOG_INFO, "gate listening for clients on %s:%d",
		g->cfg->host, g->port);
	return 0;
}

static void gate_release(void *inst)
{
	struct gate *g = inst;
	if (wisp_gate_active == g)
		wisp_gate_active = NULL;
	while (g->count)
		wisp_gate_close(g, g->list[g->count - 1], "the node is stopping");
	wisp_gate_broadcast_free(g);
	wisp_gate_tls_exit(g);
	wisp_keymap_free(&g->by_id);
	wisp_keymap_free(&g->per_address);
	wisp_keymap_free(&g->cmds);
	wisp_gate_bind_free(g);
	wisp_gate_routes_free(g);
	wisp_free(g->list);
	wisp_free(g);
}

/* SIGHUP: gate.tls's files are read again (tls.c). */
static void gate_signal(void *inst, int sig)
{
	if (sig == SIGHUP)
		wisp_gate_tls_reload(inst);
}

const struct wisp_module wisp_gate_module = {
	.name = "gate",
	.create = gate_create,
	.init = gate_init,
	.release = gate_release,
	.signal = gate_signal,
};
