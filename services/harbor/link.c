/* link.c: what this node keeps per peer: the frames waiting to be written
 * to it, the calls it owes an answer for, and the dial backoff. A lost
 * link fails every pending call at once, so no caller waits for its
 * timeout to learn that a node went away. */
#include <stdio.h>
#include <string.h>
#include "handle.h"
#include "clock.h"
#include "harbor_service.h"
#include "names.h"
#include "remote.h"
#include "service.h"
#include "socket.h"
#include "trace.h"

#define FIRST_BACKOFF_MS 100
#define MAX_BACKOFF_MS 5000
/* A link's buffer grown past this by a large message is given back once
 * written, rather than held for the link's life. */
#define ENCODER_KEEP (1u << 20)

struct harbor_link *wisp_harbor_link(struct harbor *h, uint32_t node)
{
	if (node == 0 || node > WISP_MAX_NODE || h->links[node].peer == NULL)
		return NULL;
	return &h->links[node];
}

static uint64_t call_key(wisp_handle source, int session)
{
	return (uint64_t)source << 32 | (uint32_t)session;
}

static void mark_dirty(struct harbor *h, struct harbor_link *l)
{
	if (l->dirty)
		return;
	l->dirty = 1;
	l->next_dirty = h->dirty;
	h->dirty = l;
}

/* A dial under way or a link up: 1; a peer in backoff: 0. */
static int reachable(struct harbor *h, struct harbor_link *l)
{
	if (l->out)
		return 1;
	if (wisp_harbor_now() < l->retry_ms)
		return 0;
	return wisp_harbor_conn_dial(h, l) != NULL;
}

__attribute__((format(printf, 2, 0)))
static int refuse(const struct wisp_harbor_msg *m, const char *fmt,
	const char *node)
{
	char why[160];
	snprintf(why, sizeof(why), fmt, node);
	return wisp_remote_refuse(m->source, m->session, m->type, why);
}

int wisp_harbor_link_send(struct harbor *h, struct harbor_link *l,
	const struct wisp_harbor_msg *m)
{
	if (!reachable(h, l))
		return refuse(m, "node %s is down", l->peer->name);
	if (l->enc.len + m->size > h->settings->buffer_limit)
		return refuse(m, "the link to node %s is full", l->peer->name);
	struct wisp_harbor_frame f = { .kind = WISP_HARBOR_MSG, .msg = *m };
	if (wisp_harbor_encode(&l->enc, &f) < 0)
		return refuse(m, "the message cannot go to node %s (larger than "
			"harbor.max_frame, or a bad name)", l->peer->name);
	if (wisp_is_request(m->type) && m->session > 0)
		wisp_keymap_put(&l->pending, call_key(m->source, m->session), l);
	l->frames_out++;
	l->named_out += m->name[0] != '\0';
	if (l->out->state == CONN_UP)
		mark_dirty(h, l);
	return 0;
}

void wisp_harbor_link_flush(struct harbor *h, struct harbor_link *l)
{
	if (l->enc.len == 0 || l->out == NULL || l->out->state != CONN_UP)
		return;
	size_t len = l->enc.len;
	l->enc.len = 0;
	l->bytes_out += len;
	l->out->sent_ms = wisp_harbor_now();
	/* a failure closes the socket; its ERROR event tears the link down */
	wisp_harbor_conn_write(l->out, l->enc.data, len);
	if (l->enc.cap > ENCODER_KEEP)
		wisp_harbor_encoder_trim(&l->enc);
	(void)h;
}

/* The peer has just dialled in and proved itself: it is back, so what is
 * sent to it (the answers to its first calls, above all) dials at once
 * instead of being refused until the backoff of its last loss runs out. */
void wisp_harbor_link_peer_alive(struct harbor_link *l)
{
	if (l->out)
		return;
	l->retry_ms = 0;
	l->backoff_ms = FIRST_BACKOFF_MS;
}

void wisp_harbor_link_up(struct harbor *h, struct harbor_link *l)
{
	l->backoff_ms = FIRST_BACKOFF_MS;
	l->retry_ms = 0;
	l->was_up = 1;
	const struct harbor_conn *c = l->out;
	wisp_log(h->ctx, WISP_LOG_INFO, "link to node %s is up (%s%s) in %.2f ms",
		l->peer->name, c->local ? "unix socket" : "tcp",
		c->tls ? ", TLS" : "", (wisp_clock_ns() - c->born_ns) / 1e6);
	mark_dirty(h, l);
}

struct lost_call {
	struct harbor *h;
	const char *node;
	const char *why;
};

static void fail_call(uint64_t key, void *value, void *ud)
{
	(void)value;
	struct lost_call *lc = ud;
	wisp_bounce(0, (wisp_handle)(key >> 32), (int)(uint32_t)key,
		"node %s is down (%s)", lc->node, lc->why);
}

/* The directory learns of a peer that is gone: the root tells everyone,
 * a node tells its root's loss to itself. */
static void peer_gone(struct harbor *h, struct harbor_link *l)
{
	if (h->is_root || l->peer->id == h->root)
		wisp_directory_node_down(h, l->peer->id);
}

void wisp_harbor_link_lost(struct harbor *h, struct harbor_link *l,
	const char *why)
{
	l->out = NULL;
	l->enc.len = 0; /* the requests among them are answered below */
	l->retry_ms = wisp_harbor_now() + l->backoff_ms;
	l->backoff_ms = l->backoff_ms * 2 > MAX_BACKOFF_MS ? MAX_BACKOFF_MS
		: l->backoff_ms * 2;
	/* a peer that stays away is said once, not at every redial */
	wisp_log(h->ctx, l->was_up ? WISP_LOG_WARN : WISP_LOG_DEBUG,
		"link to node %s lost: %s", l->peer->name, why);
	l->was_up = 0;
	wisp_resolve_forget(l); /* the peer may come back a new process */
	struct lost_call lc = { h, l->peer->name, why };
	wisp_keymap_drain(&l->pending, fail_call, &lc);
	/* on the root, while the node's own conn to it is up, the node
	 * lives: only the root's way to it broke (the node judged it silent
	 * after a stall of its own, say), and the tick dials again; the
	 * node is down once both are gone. A node that loses its conn to
	 * the root joins again (on the conn it dials), whatever else. */
	if (h->is_root && l->in && l->in->state == CONN_UP)
		return;
	peer_gone(h, l);
}

void wisp_harbor_link_in_lost(struct harbor *h, struct harbor_link *l,
	const struct harbor_conn *c)
{
	l->in = NULL;
	/* the peer answers our calls on its conn to us: answers in flight on
	 * it are lost with it, so the calls fail now, not at their timeout */
	if (c->state == CONN_UP) {
		struct lost_call lc = { h, l->peer->name,
			"its link to this node was lost" };
		wisp_keymap_drain(&l->pending, fail_call, &lc);
	}
	if (h->is_root && c->state == CONN_UP && l->out == NULL)
		peer_gone(h, l);
}

static void receive(struct harbor *h, struct harbor_link *l,
	struct wisp_harbor_msg *m)
{
	if (m->type == WISP_MSG_LUA_PACKED) /* packed elsewhere: check it here */
		m->type = WISP_MSG_LUA;
	if (m->type == WISP_MSG_RESPONSE || m->type == WISP_MSG_ERROR)
		wisp_keymap_remove(&l->pending, call_key(m->dest, m->session));
	wisp_handle dest = m->dest;
	if (m->name[0] && (dest = wisp_names_find(m->name)) == 0) {
		wisp_free(m->payload);
		if (wisp_is_request(m->type))
			wisp_bounce(wisp_self(h->ctx), m->source, m->session, "no service "
				"named '%s' on node %s", m->name, h->self->name);
		return;
	}
	if (!m->name[0] && wisp_is_request(m->type)
		&& WISP_HANDLE_NODE(dest) == h->self->id && !wisp_handle_grab(dest))
		wisp_resolve_missed(h, l, dest);
	wisp_deliver(m->source, dest, m->type, m->session, m->payload, m->size);
}

/* The message, and a refusal of it, carry its trace; passing it on is not
 * the harbor's own work for the trace, so no span of the harbor's. */
void wisp_harbor_link_received(struct harbor *h, struct harbor_link *l,
	struct wisp_harbor_msg *m)
{
	l->frames_in++;
	uint64_t was = wisp_trace_swap(m->trace);
	receive(h, l, m);
	wisp_trace_swap(was);
}

/* A peer reading what we send is alive, even while what it says back
 * (a pong too) waits behind a large frame of ours. Over TCP "taken" is
 * what the peer's kernel acknowledged, and a stopped process's kernel
 * still takes pings into its buffer: only PROGRESS_MIN bytes between
 * ticks, more than pings ever are, count as the peer reading. */
#define PROGRESS_MIN 4096
static void note_progress(struct harbor_conn *c, uint64_t now)
{
	int64_t taken = wisp_net_taken(c->id);
	if (taken - c->taken >= PROGRESS_MIN)
		c->heard_ms = now;
	if (taken > c->taken)
		c->taken = taken;
}

/* A tick long after the last one: this node was not running (stopped,
 * starved of CPU) and read nothing meanwhile, so no peer can be judged
 * silent by that time; each gets a full timeout from now. */
static void forgive_own_stall(struct harbor *h, uint64_t now)
{
	uint64_t last = h->last_tick_ms;
	h->last_tick_ms = now;
	if (last == 0 || now - last <= h->settings->heartbeat_ms)
		return;
	for (size_t i = 0; i < h->conn_count; i++)
		if (h->conns[i]->heard_ms < now)
			h->conns[i]->heard_ms = now;
}

/* A peer whose conn to us is up but ours to it was lost: dial it again
 * once its backoff is over. */
static void redial(struct harbor *h, struct harbor_conn *c, uint64_t now)
{
	struct harbor_link *l = c->out || c->state != CONN_UP ? NULL
		: wisp_harbor_link(h, c->peer);
	if (l && l->in == c && l->out == NULL && now >= l->retry_ms)
		wisp_harbor_conn_dial(h, l);
}

/* Pings quiet links; closes silent or stuck ones. */
void wisp_harbor_links_tick(struct harbor *h)
{
	uint64_t now = wisp_harbor_now();
	const struct wisp_harbor_settings *s = h->settings;
	forgive_own_stall(h, now);
	for (size_t i = h->conn_count; i-- > 0;) {
		struct harbor_conn *c = h->conns[i];
		if (wisp_harbor_conn_expired(h, c, now))
			continue;
		redial(h, c, now);
		note_progress(c, now);
		/* most links of a large cluster are quiet (the root's above
		 * all): their buffers go back between ticks; a busy one
		 * regrows its own in a few steps */
		if (c->out)
			wisp_harbor_encoder_trim(&h->links[c->peer].enc);
		if (now - c->heard_ms > s->timeout_ms) {
			char why[64];
			snprintf(why, sizeof(why), "%s for %u ms",
				c->state == CONN_UP ? "silent" : "no handshake", s->timeout_ms);
			wisp_harbor_conn_close(h, c, 1, why);
		} else if (c->out && c->state == CONN_UP
			&& (now - c->sent_ms >= s->heartbeat_ms
				|| now - c->heard_ms >= s->heartbeat_ms)) {
			struct wisp_harbor_frame ping = { .kind = WISP_HARBOR_PING,
				.token = now };
			struct harbor_link *l = &h->links[c->peer];
			wisp_harbor_encode(&l->enc, &ping);
			mark_dirty(h, l);
		}
	}
}
