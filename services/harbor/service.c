/* service.c: the harbor as a service: its module entry points, its
 * listener, the socket events of its connections and its heartbeat tick.
 * One harbor runs per node that has a harbor address; the runtime reaches
 * it through the hooks route.c registers. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "alloc.h"
#include "harbor_service.h"
#include "module.h"
#include "node.h"
#include "process.h"
#include "socket.h"
#include "tls.h"

struct harbor *wisp_harbor_active;

uint64_t wisp_harbor_now(void)
{
	return wisp_now();
}

static void arm_tick(struct harbor *h)
{
	h->tick_session = wisp_new_session(h->ctx);
	uint32_t every = h->settings->heartbeat_ms / 2;
	wisp_timeout(h->ctx, every ? every : 1, h->tick_session);
}

static void on_socket(struct harbor *h, const struct wisp_socket_msg *m)
{
	if (m->event == WISP_SOCKET_ACCEPT) {
		wisp_harbor_conn_accepted(h, m->ud, m->id == h->local_listener);
		return;
	}
	struct harbor_conn *c = wisp_harbor_conn_find(h, m->id);
	if (c == NULL)
		return;
	switch (m->event) {
	case WISP_SOCKET_DATA:
		wisp_harbor_conn_data(h, c, m->data, m->size);
		break;
	case WISP_SOCKET_CONNECT:
		wisp_harbor_conn_connected(h, c);
		break;
	case WISP_SOCKET_CLOSE:
		wisp_harbor_conn_close(h, c, 0, "closed by the peer");
		break;
	case WISP_SOCKET_ERROR:
		wisp_harbor_conn_close(h, c, 0, m->data);
		break;
	}
}

static int harbor_cb(struct wisp_context *ctx, void *ud, int type,
	int session, wisp_handle source, void *msg, size_t sz)
{
	(void)ctx;
	struct harbor *h = ud;
	if (type == WISP_MSG_SOCKET) {
		on_socket(h, msg);
	} else if (type == WISP_MSG_TIMER && session == h->tick_session) {
		wisp_harbor_links_tick(h);
		wisp_directory_tick(h);
		wisp_load_tick(h);
		arm_tick(h);
	} else if (type == WISP_MSG_CLUSTER) {
		wisp_directory_request(h, source, session, msg, sz);
	}
	return 0;
}

static void *harbor_create(void)
{
	struct harbor *h = wisp_malloc(sizeof(*h));
	memset(h, 0, sizeof(*h));
	h->listener = h->local_listener = -1;
	return h;
}

static void init_links(struct harbor *h)
{
	size_t n = WISP_MAX_NODE + 1;
	/* zero pages the allocator need not touch: a small cluster's node
	 * does not make the table of every possible peer its own memory */
	h->links = wisp_calloc(n, sizeof(*h->links));
	for (size_t i = 0; i < h->cfg->peer_count; i++) {
		const struct wisp_peer *p = &h->cfg->peers[i];
		if (p == h->self || p->host == NULL)
			continue;
		struct harbor_link *l = &h->links[p->id];
		l->peer = p;
		l->backoff_ms = 100;
		wisp_harbor_encoder_init(&l->enc, h->settings->max_frame,
			h->settings->compress_threshold);
	}
}

/* Peers on this host dial the Unix socket; without it they use TCP. It
 * listens before TCP does, so that a peer that finds TCP up finds it. */
static void listen_local(struct harbor *h)
{
	h->local_listener = wisp_local_listen(h);
	if (h->local_listener < 0)
		wisp_log(h->ctx, WISP_LOG_WARN, "no same-host socket for the "
			"harbor (%s); peers on this host use TCP", strerror(errno));
}

/* TLS on TCP links unless the config says they stay on loopback, where
 * only this host's root could read or change what they carry. */
static int start_tls(struct harbor *h)
{
	char why[256];
	int need = wisp_harbor_tls_needed(h->cfg, h->settings, why, sizeof(why));
	if (need < 0)
		return wisp_fail(h->ctx, "%s", why);
	if (need == 0) {
		wisp_log(h->ctx, WISP_LOG_INFO, "harbor links are plaintext: %s",
			why);
		return 0;
	}
	h->tls = wisp_harbor_tls_ctx_new(h->settings, why, sizeof(why));
	if (h->tls == NULL)
		return wisp_fail(h->ctx, "no TLS for the harbor: %s", why);
	wisp_log(h->ctx, WISP_LOG_INFO, "harbor links over TCP use TLS 1.3 "
		"(%s)", h->settings->tls_mode == WISP_HARBOR_TLS_CERT
		? "certificates" : "a key from the cluster secret");
	return 0;
}

/* A root links to every node, twice: on a host whose soft limit is the
 * usual 1,024, a root of a thousand nodes would run out of files. */
static void raise_fd_limit(struct harbor *h)
{
	uint64_t need = wisp_harbor_fds_needed(h), was, now;
	if (wisp_fd_limit_raise(need, &was, &now) < 0)
		wisp_log(h->ctx, WISP_LOG_ERROR, "open-file limit: the hard limit is "
			"below the %llu that links to the config's %zu nodes may need, so "
			"the soft limit stays at %llu; raise the hard limit (ulimit -Hn, "
			"LimitNOFILE= for systemd)", (unsigned long long)need,
			h->cfg->peer_count, (unsigned long long)now);
	else if (now > was)
		wisp_log(h->ctx, WISP_LOG_INFO, "open-file limit raised from %llu to "
			"%llu for links to the config's %zu nodes", (unsigned long long)was,
			(unsigned long long)now, h->cfg->peer_count);
}

static int harbor_init(void *inst, struct wisp_context *ctx, const char *args)
{
	(void)args;
	struct harbor *h = inst;
	h->ctx = ctx;
	h->cfg = wisp_node_config();
	h->self = h->cfg ? wisp_config_peer_id(h->cfg, h->cfg->node_id) : NULL;
	h->settings = h->cfg ? wisp_harbor_settings(h->cfg) : NULL;
	if (h->self == NULL || h->self->host == NULL || h->settings == NULL)
		return wisp_fail(ctx, "the harbor needs a node with a harbor address");
	if (start_tls(h) < 0)
		return -1;
	if (h->settings->same_host)
		listen_local(h);
	const char *host = wisp_peer_listen_host(h->self);
	int port = wisp_peer_listen_port(h->self);
	h->listener = wisp_socket_listen(ctx, host, port, 128);
	if (h->listener < 0)
		return wisp_fail(ctx, "cannot listen on %s:%d for the harbor: %s",
			host, port, strerror(errno));
	if (wisp_register(ctx, "wisp.harbor") < 0)
		return wisp_fail(ctx, "another harbor runs on this node");
	raise_fd_limit(h);
	init_links(h);
	if (h->settings->same_host)
		wisp_local_find_peers(h);
	wisp_set_callback(ctx, h, harbor_cb);
	wisp_harbor_route_start(h);
	arm_tick(h);
	wisp_directory_start(h);
	return 0;
}

static void harbor_release(void *inst)
{
	struct harbor *h = inst;
	wisp_harbor_route_stop(h);
	while (h->conn_count)
		wisp_harbor_conn_close(h, h->conns[0], 1, "the node is stopping");
	for (size_t i = 0; h->links && i <= WISP_MAX_NODE; i++) {
		wisp_harbor_encoder_free(&h->links[i].enc);
		wisp_keymap_free(&h->links[i].pending);
		wisp_free(h->links[i].resolved);
	}
	wisp_directory_free(h);
	wisp_free(h->links);
	wisp_free(h->conns);
	wisp_keymap_free(&h->conn_by_socket);
	wisp_harbor_tls_ctx_free(h->tls);
	wisp_free(h);
}

void wisp_harbor_watch(struct harbor *h, wisp_handle service)
{
	for (size_t i = 0; i < h->monitor_count; i++)
		if (h->monitors[i] == service)
			return;
	h->monitors = wisp_realloc(h->monitors,
		(h->monitor_count + 1) * sizeof(*h->monitors));
	h->monitors[h->monitor_count++] = service;
}

void wisp_harbor_unwatch(struct harbor *h, wisp_handle service)
{
	for (size_t i = 0; i < h->monitor_count; i++)
		if (h->monitors[i] == service) {
			h->monitors[i] = h->monitors[--h->monitor_count];
			return;
		}
}

const struct wisp_module wisp_harbor_module = {
	.name = "harbor",
	.create = harbor_create,
	.init = harbor_init,
	.release = harbor_release,
};
