/* conn.c: one connection between two nodes (TCP, or a Unix socket on one
 * host: local.c), from dial or accept to close: the handshake (each side
 * sends HELLO with a fresh nonce, then an HMAC over both HELLOs keyed by
 * the cluster secret, so the secret never crosses the wire), then frames. A peer that breaks the protocol loses
 * this connection only, with a log line saying why. */
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include "harbor_service.h"
#include "socket.h"

static void add_conn(struct harbor *h, struct harbor_conn *c)
{
	h->conns = wisp_realloc(h->conns, (h->conn_count + 1) * sizeof(*h->conns));
	h->conns[h->conn_count++] = c;
	wisp_keymap_put(&h->conn_by_socket, (uint32_t)c->id, c);
}

static struct harbor_conn *new_conn(struct harbor *h, int id, int out)
{
	struct harbor_conn *c = wisp_malloc(sizeof(*c));
	memset(c, 0, sizeof(*c));
	c->id = id;
	c->out = out;
	c->heard_ms = c->sent_ms = wisp_harbor_now();
	wisp_harbor_decoder_init(&c->dec, h->settings->max_frame);
	add_conn(h, c);
	return c;
}

struct harbor_conn *wisp_harbor_conn_find(struct harbor *h, int id)
{
	return id > 0 ? wisp_keymap_get(&h->conn_by_socket, (uint32_t)id) : NULL;
}

/* A peer on this host over its Unix socket, if it listens there. */
struct harbor_conn *wisp_harbor_conn_dial(struct harbor *h,
	struct harbor_link *l)
{
	int id = l->same_host ? wisp_local_dial(h, l) : -1;
	int local = id >= 0;
	if (!local)
		id = wisp_net_connect(wisp_self(h->ctx), l->peer->host,
			l->peer->port);
	if (id < 0)
		return NULL;
	/* a link may hold more than an ordinary socket: a large frame is
	 * written whole, and a slow peer's output waits up to this */
	wisp_net_set_limit(id, h->settings->buffer_limit);
	struct harbor_conn *c = new_conn(h, id, 1);
	c->state = CONN_CONNECTING;
	c->local = local;
	c->peer = l->peer->id;
	l->out = c;
	return c;
}

struct harbor_conn *wisp_harbor_conn_accepted(struct harbor *h, int id)
{
	if (wisp_net_start(wisp_self(h->ctx), id) < 0)
		return NULL;
	struct harbor_conn *c = new_conn(h, id, 0);
	c->state = CONN_HELLO;
	return c;
}

/* Handshake and heartbeat frames go straight out; messages go through
 * the link's buffer, which only an up link writes. */
void wisp_harbor_conn_send(struct harbor *h, struct harbor_conn *c,
	const struct wisp_harbor_frame *f)
{
	struct wisp_harbor_encoder e;
	wisp_harbor_encoder_init(&e, h->settings->max_frame, 0);
	if (wisp_harbor_encode(&e, f) == 0)
		wisp_net_write(c->id, e.data, e.len);
	wisp_harbor_encoder_free(&e);
}

static void send_hello(struct harbor *h, struct harbor_conn *c)
{
	c->mine.version = WISP_HARBOR_VERSION;
	c->mine.node = (uint16_t)h->self->id;
	snprintf(c->mine.name, sizeof(c->mine.name), "%s", h->self->name);
	if (getrandom(c->mine.nonce, sizeof(c->mine.nonce), 0)
		!= (ssize_t)sizeof(c->mine.nonce))
		memset(c->mine.nonce, 0, sizeof(c->mine.nonce)); /* not reached */
	struct wisp_harbor_frame f = { .kind = WISP_HARBOR_HELLO,
		.hello = c->mine };
	wisp_harbor_conn_send(h, c, &f);
}

static void send_proof(struct harbor *h, struct harbor_conn *c, int role)
{
	const struct wisp_harbor_hello *conn_side = c->out ? &c->mine : &c->theirs;
	const struct wisp_harbor_hello *acc_side = c->out ? &c->theirs : &c->mine;
	struct wisp_harbor_frame f = { .kind = WISP_HARBOR_PROOF };
	const char *secret = h->cfg->secret ? h->cfg->secret : "";
	wisp_harbor_proof(secret, strlen(secret), conn_side, acc_side, role,
		f.proof);
	wisp_harbor_conn_send(h, c, &f);
}

static int proof_ok(struct harbor *h, struct harbor_conn *c, const uint8_t *got)
{
	uint8_t want[WISP_HARBOR_PROOF_SIZE];
	const char *secret = h->cfg->secret ? h->cfg->secret : "";
	wisp_harbor_proof(secret, strlen(secret),
		c->out ? &c->mine : &c->theirs, c->out ? &c->theirs : &c->mine,
		c->out ? WISP_HARBOR_ACCEPTOR : WISP_HARBOR_CONNECTOR, want);
	return wisp_harbor_proof_equal(want, got);
}

void wisp_harbor_conn_connected(struct harbor *h, struct harbor_conn *c)
{
	c->state = CONN_HELLO;
	c->heard_ms = wisp_harbor_now();
	send_hello(h, c);
}

/* The peer's HELLO: a node of our config, and the one we dialed. NULL if
 * fine, else why not. */
static const char *check_hello(struct harbor *h, struct harbor_conn *c,
	const struct wisp_harbor_hello *hello)
{
	const struct wisp_peer *p = wisp_config_peer_id(h->cfg, hello->node);
	if (hello->version != WISP_HARBOR_VERSION)
		return "another protocol version";
	if (p == NULL || strcmp(p->name, hello->name) != 0 || p == h->self)
		return "a node id and name not in this cluster's config";
	if (c->out && hello->node != c->peer)
		return "not the node that was dialed";
	return NULL;
}

static const char *on_hello(struct harbor *h, struct harbor_conn *c,
	const struct wisp_harbor_frame *f)
{
	if (f->kind != WISP_HARBOR_HELLO)
		return "no HELLO first";
	const char *bad = check_hello(h, c, &f->hello);
	if (bad)
		return bad;
	c->theirs = f->hello;
	c->peer = f->hello.node;
	c->state = CONN_PROOF;
	if (!c->out) {
		send_hello(h, c);
		send_proof(h, c, WISP_HARBOR_ACCEPTOR);
	}
	return NULL;
}

/* An accepted conn that proved itself replaces the peer's older one. */
static void attach_in(struct harbor *h, struct harbor_conn *c)
{
	struct harbor_link *l = wisp_harbor_link(h, c->peer);
	if (l->in && l->in != c)
		wisp_harbor_conn_close(h, l->in, 1, "replaced by a new connection");
	l->in = c;
	wisp_harbor_link_peer_alive(l);
}

static const char *on_proof(struct harbor *h, struct harbor_conn *c,
	const struct wisp_harbor_frame *f)
{
	if (f->kind != WISP_HARBOR_PROOF)
		return "no PROOF after HELLO";
	if (!proof_ok(h, c, f->proof)) {
		if (c->out) /* so that the acceptor can say why, too */
			send_proof(h, c, WISP_HARBOR_CONNECTOR);
		return "a wrong proof (is the cluster secret the same?)";
	}
	c->state = CONN_UP;
	if (c->out) {
		send_proof(h, c, WISP_HARBOR_CONNECTOR);
		wisp_harbor_link_up(h, wisp_harbor_link(h, c->peer));
	} else {
		attach_in(h, c);
	}
	return NULL;
}

static const char *on_up(struct harbor *h, struct harbor_conn *c,
	struct wisp_harbor_frame *f)
{
	if (f->kind == WISP_HARBOR_PING) {
		struct wisp_harbor_frame pong = { .kind = WISP_HARBOR_PONG,
			.token = f->token };
		wisp_harbor_conn_send(h, c, &pong);
		return NULL;
	}
	if (f->kind == WISP_HARBOR_PONG)
		return NULL;
	if (f->kind != WISP_HARBOR_MSG)
		return "a handshake frame on an open link";
	if (WISP_HANDLE_NODE(f->msg.source) != c->peer) {
		wisp_free(f->msg.payload);
		return "a message claiming to come from another node";
	}
	struct harbor_link *l = wisp_harbor_link(h, c->peer);
	wisp_harbor_link_received(h, l, &f->msg);
	return NULL;
}

static const char *on_frame(struct harbor *h, struct harbor_conn *c,
	struct wisp_harbor_frame *f)
{
	switch (c->state) {
	case CONN_HELLO:
		return on_hello(h, c, f);
	case CONN_PROOF:
		return on_proof(h, c, f);
	case CONN_UP:
		return on_up(h, c, f);
	default:
		return "data before the connection was made";
	}
}

static void refuse(struct harbor *h, struct harbor_conn *c, const char *why)
{
	const struct wisp_peer *p = wisp_config_peer_id(h->cfg, c->peer);
	char text[200];
	snprintf(text, sizeof(text), "%s %s sent %s",
		c->out ? "dialed node" : "a connection from node",
		p ? p->name : "(unknown)", why);
	if (c->state == CONN_UP)
		wisp_log(h->ctx, WISP_LOG_WARN, "closing a link: %s", text);
	wisp_harbor_conn_close(h, c, 1, text);
}

void wisp_harbor_conn_data(struct harbor *h, struct harbor_conn *c,
	const void *data, size_t sz)
{
	const char *p = data;
	c->heard_ms = wisp_harbor_now();
	struct harbor_link *l = c->peer ? wisp_harbor_link(h, c->peer) : NULL;
	if (l)
		l->bytes_in += sz;
	while (sz > 0 || c->dec.len) {
		struct wisp_harbor_frame f;
		size_t used = 0;
		int rc = wisp_harbor_decode(&c->dec, p, sz, &used, &f);
		p += used;
		sz -= used;
		if (rc == WISP_HARBOR_MORE)
			return;
		const char *why = rc == WISP_HARBOR_ERROR ? c->dec.error
			: on_frame(h, c, &f);
		if (why) {
			refuse(h, c, why);
			return;
		}
	}
}

static void unlist(struct harbor *h, struct harbor_conn *c)
{
	wisp_keymap_remove(&h->conn_by_socket, (uint32_t)c->id);
	for (size_t i = 0; i < h->conn_count; i++)
		if (h->conns[i] == c) {
			h->conns[i] = h->conns[--h->conn_count];
			return;
		}
}

void wisp_harbor_conn_close(struct harbor *h, struct harbor_conn *c,
	int socket_open, const char *why)
{
	if (socket_open)
		wisp_net_close(c->id);
	unlist(h, c);
	struct harbor_link *l = c->peer ? wisp_harbor_link(h, c->peer) : NULL;
	if (l && l->in == c)
		l->in = NULL;
	if (!c->out && c->state != CONN_UP)
		wisp_log(h->ctx, WISP_LOG_WARN, "refused a link: %s", why);
	wisp_harbor_decoder_free(&c->dec);
	int was_out = l && l->out == c;
	wisp_free(c);
	if (was_out)
		wisp_harbor_link_lost(h, l, why);
}
