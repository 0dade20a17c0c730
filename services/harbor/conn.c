/* conn.c: one connection between two nodes (TCP, or a Unix socket on one
 * host: local.c), from dial or accept to close. The handshake
 * (proto/HARBOR.md): each side's HELLO carries its share of a key exchange
 * keyed by the cluster secret (harbor_pake.c), then each sends a PROOF of
 * the key it got; the acceptor proves first, and the connector sends
 * nothing more to an acceptor whose proof is wrong. Then a TCP link that
 * needs it runs TLS 1.3 (tls.c) keyed by that exchange, and frames flow.
 * Until its proof, a connection gets a handshake-sized frame limit and a
 * fixed deadline. A peer that breaks the protocol loses this connection
 * only, with a log line saying why. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include "clock.h"
#include "harbor_service.h"
#include "log.h"
#include "socket.h"
#include "tls.h"

/* Pre-authentication limits: whatever bytes come, a connection that has
 * not proved itself this long after it was made is closed; and no more
 * than this many accepted ones wait in their handshake at once, or as
 * many as the cluster has nodes if that is more (handshaking_max). */
#define HANDSHAKE_MS 5000
#define HANDSHAKING_MIN 64
#define SPARE_FDS 64 /* beyond the links and handshakes: logs, listeners */

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
	c->h = h;
	c->id = id;
	c->out = out;
	c->born_ms = c->heard_ms = c->sent_ms = wisp_harbor_now();
	c->born_ns = wisp_clock_ns();
	/* every handshake frame fits: nobody gets a larger buffer before
	 * proving the secret */
	wisp_harbor_decoder_init(&c->dec, WISP_HARBOR_MIN_FRAME);
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

static void refuse(struct harbor *h, struct harbor_conn *c, const char *why);

/* The accepted conn that has waited longest in its handshake. */
static struct harbor_conn *oldest_handshake(struct harbor *h)
{
	struct harbor_conn *oldest = NULL;
	for (size_t i = 0; i < h->conn_count; i++) {
		struct harbor_conn *c = h->conns[i];
		if (!c->out && c->state != CONN_UP
			&& (oldest == NULL || c->born_ms < oldest->born_ms))
			oldest = c;
	}
	return oldest;
}

/* The cap on accepted connections waiting in their handshake. Every
 * other node may dial this one at once (all of a cluster joining a root
 * that just started): on a host whose cores are all busy starting them,
 * a round trip of the handshake can take a second, and a smaller cap
 * would close real peers' connections again and again. */
static size_t handshaking_max(const struct harbor *h)
{
	size_t peers = h->cfg->peer_count;
	return peers > HANDSHAKING_MIN ? peers : HANDSHAKING_MIN;
}

size_t wisp_harbor_fds_needed(const struct harbor *h)
{
	return 2 * h->cfg->peer_count + handshaking_max(h) + SPARE_FDS;
}

/* Past the cap, the oldest waiting handshake makes room: a real peer
 * finishes its handshake in a round trip, so a flood of idle connections
 * would have to be opened faster than that to keep it out, and costs
 * the node no more than the cap. */
struct harbor_conn *wisp_harbor_conn_accepted(struct harbor *h, int id,
	int local)
{
	if (wisp_net_start(wisp_self(h->ctx), id) < 0)
		return NULL;
	size_t cap = handshaking_max(h);
	if (h->handshaking >= cap) {
		char why[96];
		snprintf(why, sizeof(why), "no handshake before %zu newer "
			"connections waited in theirs (the limit)", cap);
		refuse(h, oldest_handshake(h), why);
	}
	struct harbor_conn *c = new_conn(h, id, 0);
	c->state = CONN_HELLO;
	c->local = local; /* no TLS over it, as its dialer knows too */
	h->handshaking++;
	return c;
}

void wisp_harbor_conn_write(struct harbor_conn *c, const void *data,
	size_t size)
{
	if (c->tls == NULL)
		wisp_net_write(c->id, data, size);
	else if (wisp_tls_session_output(c->tls, data, size) < 0 && !c->failed)
		c->failed = "a TLS record that could not be made";
}

/* Handshake and heartbeat frames go straight out; messages go through
 * the link's buffer, which only an up link writes. */
void wisp_harbor_conn_send(struct harbor *h, struct harbor_conn *c,
	const struct wisp_harbor_frame *f)
{
	struct wisp_harbor_encoder e;
	wisp_harbor_encoder_init(&e, h->settings->max_frame, 0);
	if (wisp_harbor_encode(&e, f) == 0)
		wisp_harbor_conn_write(c, e.data, e.len);
	wisp_harbor_encoder_free(&e);
}

/* HELLO with this side's share of the key exchange: 0, or -1 when
 * libcrypto could not start it. */
static int send_hello(struct harbor *h, struct harbor_conn *c)
{
	const char *secret = h->cfg->secret ? h->cfg->secret : "";
	c->mine.version = WISP_HARBOR_VERSION;
	c->mine.node = (uint16_t)h->self->id;
	snprintf(c->mine.name, sizeof(c->mine.name), "%s", h->self->name);
	c->pake = wisp_harbor_pake_start(secret, strlen(secret),
		c->out ? WISP_HARBOR_CONNECTOR : WISP_HARBOR_ACCEPTOR, c->mine.share);
	if (c->pake == NULL)
		return -1;
	struct wisp_harbor_frame f = { .kind = WISP_HARBOR_HELLO,
		.hello = c->mine };
	wisp_harbor_conn_send(h, c, &f);
	return 0;
}

static void send_proof(struct harbor *h, struct harbor_conn *c)
{
	struct wisp_harbor_frame f = { .kind = WISP_HARBOR_PROOF };
	memcpy(f.proof, c->out ? c->keys.proof_connector
		: c->keys.proof_acceptor, sizeof(f.proof));
	wisp_harbor_conn_send(h, c, &f);
}

/* Both HELLOs in: the keys. NULL, or why not. */
static const char *finish_exchange(struct harbor_conn *c)
{
	int rc = wisp_harbor_pake_finish(c->pake, c->out ? &c->mine : &c->theirs,
		c->out ? &c->theirs : &c->mine, &c->keys);
	wisp_harbor_pake_free(c->pake);
	c->pake = NULL;
	return rc < 0 ? "a key share that is not a point of the curve" : NULL;
}

void wisp_harbor_conn_connected(struct harbor *h, struct harbor_conn *c)
{
	c->state = CONN_HELLO;
	c->heard_ms = wisp_harbor_now();
	if (send_hello(h, c) < 0)
		c->failed = "no key exchange (libcrypto failed)";
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
	if (!c->out && send_hello(h, c) < 0)
		return "no key exchange (libcrypto failed)";
	if ((bad = finish_exchange(c)) != NULL)
		return bad;
	if (!c->out)
		send_proof(h, c);
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

static void set_up(struct harbor *h, struct harbor_conn *c)
{
	c->state = CONN_UP;
	if (c->out) {
		wisp_harbor_link_up(h, wisp_harbor_link(h, c->peer));
	} else {
		h->handshaking--;
		attach_in(h, c);
	}
}

static void tls_write(void *ud, const void *data, size_t size)
{
	struct harbor_conn *c = ud;
	wisp_net_write(c->id, data, size);
}

static void tls_plain(void *ud, const void *data, size_t size);

/* Both proved the secret: TLS on a TCP link that needs it, keyed by the
 * exchange (or by certificates); else the link is up. */
static const char *start_link(struct harbor *h, struct harbor_conn *c)
{
	c->dec.max_frame = h->settings->max_frame;
	if (h->tls == NULL || c->local) {
		set_up(h, c);
		return NULL;
	}
	const struct wisp_peer *p = wisp_config_peer_id(h->cfg, c->peer);
	c->tls = wisp_harbor_tls_new(h->tls, c->out, c->keys.tls_psk, p->name,
		tls_write, tls_plain, c);
	memset(&c->keys, 0, sizeof(c->keys));
	if (c->tls == NULL)
		return "no TLS session (libssl failed)";
	c->state = CONN_TLS;
	if (c->out && wisp_tls_session_start(c->tls) < 0)
		return wisp_tls_session_error(c->tls);
	return NULL;
}

static const char *on_proof(struct harbor *h, struct harbor_conn *c,
	const struct wisp_harbor_frame *f)
{
	if (f->kind != WISP_HARBOR_PROOF)
		return "no PROOF after HELLO";
	/* a connector sends nothing more to an acceptor that got it wrong:
	 * a fake acceptor learns nothing */
	if (!wisp_harbor_proof_equal(c->out ? c->keys.proof_acceptor
			: c->keys.proof_connector, f->proof))
		return "a wrong proof (is the cluster secret the same?)";
	if (c->out)
		send_proof(h, c);
	return start_link(h, c);
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
	case CONN_TLS: /* the first frames out of TLS come with its end */
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

/* The frames in bytes of the wire or out of TLS. On a connection that
 * turns to TLS part-way (after the PROOFs), the bytes after the last
 * PROOF are TLS's: how many are left. A failure sets c->failed. */
static size_t take_frames(struct harbor *h, struct harbor_conn *c,
	const char *p, size_t sz, int from_tls)
{
	while (!c->failed && (sz > 0 || c->dec.len)) {
		struct wisp_harbor_frame f;
		size_t used = 0;
		int rc = wisp_harbor_decode(&c->dec, p, sz, &used, &f);
		p += used;
		sz -= used;
		if (rc == WISP_HARBOR_MORE)
			return 0;
		c->failed = rc == WISP_HARBOR_ERROR ? c->dec.error
			: on_frame(h, c, &f);
		if (c->tls && !from_tls)
			return sz;
	}
	return 0;
}

/* Plaintext out of TLS: TLS is done by then, so the link is up. */
static void tls_plain(void *ud, const void *data, size_t size)
{
	struct harbor_conn *c = ud;
	if (c->failed)
		return;
	if (c->state == CONN_TLS)
		set_up(c->h, c);
	take_frames(c->h, c, data, size, 1);
}

void wisp_harbor_conn_data(struct harbor *h, struct harbor_conn *c,
	const void *data, size_t sz)
{
	c->heard_ms = wisp_harbor_now();
	struct harbor_link *l = c->peer ? wisp_harbor_link(h, c->peer) : NULL;
	if (l)
		l->bytes_in += sz;
	size_t rest = c->tls ? sz : take_frames(h, c, data, sz, 0);
	if (c->tls && !c->failed && wisp_tls_session_input(c->tls,
			(const char *)data + sz - rest, rest) < 0)
		c->failed = wisp_tls_session_error(c->tls);
	if (!c->failed && c->state == CONN_TLS
		&& wisp_tls_session_established(c->tls))
		set_up(h, c);
	if (c->failed)
		refuse(h, c, c->failed);
}

int wisp_harbor_conn_expired(struct harbor *h, struct harbor_conn *c,
	uint64_t now)
{
	if (c->failed)
		refuse(h, c, c->failed);
	else if (c->state != CONN_UP && now - c->born_ms > HANDSHAKE_MS)
		refuse(h, c, "no handshake within the deadline");
	else
		return 0;
	return 1;
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

/* Each kind of refusal is its own place for the log's flood control (its
 * words up to the first number), so that a flood of one kind, such as
 * handshakes crowded out, cannot hide another, such as oversized frames. */
static void log_refusal(struct harbor *h, struct harbor_conn *c,
	int socket_open, const char *why)
{
	char place[64] = "refused a link: ";
	size_t n = strlen(place);
	for (const char *w = why; *w && !isdigit((unsigned char)*w)
		&& n < sizeof(place) - 1; w++)
		place[n++] = *w;
	place[n] = '\0';
	/* a connector whose secret differs sees our proof fail and goes
	 * without a word: only it can know, so say what it means */
	wisp_log_at(h->ctx, WISP_LOG_WARN, place, "refused a link: %s%s", why,
		c->state == CONN_PROOF && !socket_open ? " after our proof, "
		"before its own (does it hold another cluster secret?)" : "");
}

void wisp_harbor_conn_close(struct harbor *h, struct harbor_conn *c,
	int socket_open, const char *why)
{
	if (socket_open)
		wisp_net_close(c->id);
	unlist(h, c);
	struct harbor_link *l = c->peer ? wisp_harbor_link(h, c->peer) : NULL;
	if (l && l->in == c)
		wisp_harbor_link_in_lost(h, l, c);
	if (!c->out && c->state != CONN_UP) {
		h->handshaking--;
		log_refusal(h, c, socket_open, why);
	}
	wisp_harbor_decoder_free(&c->dec);
	wisp_harbor_pake_free(c->pake);
	wisp_tls_session_free(c->tls);
	memset(&c->keys, 0, sizeof(c->keys));
	int was_out = l && l->out == c;
	wisp_free(c);
	if (was_out)
		wisp_harbor_link_lost(h, l, why);
}
