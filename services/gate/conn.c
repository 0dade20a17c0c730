/* conn.c: the gate's client connections: accepting them up to the limit,
 * decoding their frames, the rate limit and the idle timeout, and closing
 * them. A connection that breaks a rule is closed with a log line naming
 * the rule; no other connection notices. */
#include <stdio.h>
#include <string.h>
#include "gate_service.h"
#include "socket.h"

#define WARN_INTERVAL_MS 1000

int wisp_gate_may_warn(struct gate *g, enum gate_warning kind)
{
	uint64_t now = wisp_now();
	if (now < g->quiet_until_ms[kind])
		return 0;
	g->quiet_until_ms[kind] = now + WARN_INTERVAL_MS;
	return 1;
}

struct gate_conn *wisp_gate_conn(struct gate *g, uint32_t id)
{
	return id ? wisp_keymap_get(&g->by_id, id) : NULL;
}

static void add(struct gate *g, struct gate_conn *c)
{
	if (g->count == g->cap) {
		g->cap = g->cap ? g->cap * 2 : 64;
		g->list = wisp_realloc(g->list, g->cap * sizeof(*g->list));
	}
	c->index = g->count;
	g->list[g->count++] = c;
	wisp_keymap_put(&g->by_id, (uint32_t)c->id, c);
}

/* Out of the list by moving the last one into its place. */
static void forget(struct gate *g, struct gate_conn *c)
{
	struct gate_conn *last = g->list[--g->count];
	g->list[c->index] = last;
	last->index = c->index;
	wisp_keymap_remove(&g->by_id, (uint32_t)c->id);
	wisp_client_decoder_free(&c->dec);
	wisp_free(c);
}

/* In thousandths of a frame; a burst of 0 means a second's worth. */
static uint64_t burst(const struct gate *g)
{
	uint32_t b = g->cfg->rate_burst ? g->cfg->rate_burst : g->cfg->rate_limit;
	return (uint64_t)b * 1000;
}

static void refuse(struct gate *g, int id, const char *addr)
{
	g->stats.refused++;
	wisp_sock_close(id);
	if (wisp_gate_may_warn(g, GATE_WARN_REFUSED))
		wisp_log(g->ctx, WISP_LOG_WARN, "refused client %s: gate."
			"max_connections (%u) reached", addr, g->cfg->max_connections);
}

void wisp_gate_accepted(struct gate *g, int id, const char *addr)
{
	if (g->count >= g->cfg->max_connections || g->listener < 0) {
		refuse(g, id, addr);
		return;
	}
	struct gate_conn *c = wisp_malloc(sizeof(*c));
	memset(c, 0, sizeof(*c));
	c->id = id;
	c->last_in_ms = c->refill_ms = wisp_now();
	c->tokens = burst(g);
	snprintf(c->addr, sizeof(c->addr), "%s", addr);
	wisp_client_decoder_init(&c->dec, &g->proto);
	if (wisp_sock_set_limit(id, g->cfg->output_limit) < 0
		|| wisp_sock_start(wisp_self(g->ctx), id) < 0) {
		wisp_free(c);
		wisp_sock_close(id);
		return;
	}
	add(g, c);
	g->stats.accepted++;
	wisp_gate_event(g, c, WISP_GATE_OPEN, c->addr);
}

/* A token bucket: rate_limit frames a second, rate_burst at once. Counted
 * in thousandths of a frame so that slow rates refill smoothly. */
static int within_rate(struct gate *g, struct gate_conn *c, uint64_t now)
{
	uint32_t rate = g->cfg->rate_limit;
	if (rate == 0)
		return 1;
	uint64_t cap = burst(g);
	c->tokens += (now - c->refill_ms) * rate;
	c->refill_ms = now;
	if (c->tokens > cap)
		c->tokens = cap;
	if (c->tokens < 1000)
		return 0;
	c->tokens -= 1000;
	return 1;
}

static void close_bad(struct gate *g, struct gate_conn *c)
{
	char reason[WISP_CLIENT_REASON_MAX];
	wisp_client_reason(&c->dec, reason, sizeof(reason));
	g->stats.bad_frames++;
	wisp_log(g->ctx, WISP_LOG_WARN, "client %s (conn %d) closed: %s",
		c->addr, c->id, reason);
	wisp_gate_close(g, c, reason);
}

static void close_fast(struct gate *g, struct gate_conn *c)
{
	char why[96];
	snprintf(why, sizeof(why), "more than gate.rate_limit (%u frames/s)",
		g->cfg->rate_limit);
	g->stats.rate_closed++;
	wisp_log(g->ctx, WISP_LOG_WARN, "client %s (conn %d) closed: %s",
		c->addr, c->id, why);
	wisp_gate_close(g, c, why);
}

/* Each frame is forwarded as it is decoded; a bad one ends the
 * connection, and the frames before it have gone on already. */
void wisp_gate_data(struct gate *g, struct gate_conn *c, const uint8_t *data,
	size_t size)
{
	uint64_t now = wisp_now();
	struct wisp_client_frame f;
	int rc;
	c->last_in_ms = now;
	g->stats.bytes_in += size;
	while ((rc = wisp_client_next(&c->dec, &data, &size, &f)) == 1) {
		if (!within_rate(g, c, now)) {
			close_fast(g, c);
			return;
		}
		g->stats.frames_in++;
		wisp_gate_forward(g, c, &f);
	}
	if (rc < 0)
		close_bad(g, c);
}

void wisp_gate_close(struct gate *g, struct gate_conn *c, const char *why)
{
	wisp_sock_close(c->id);
	wisp_gate_lost(g, c, why);
}

void wisp_gate_lost(struct gate *g, struct gate_conn *c, const char *why)
{
	wisp_gate_event(g, c, WISP_GATE_CLOSE, why);
	forget(g, c);
}

/* The socket layer has dropped the socket already. */
void wisp_gate_slow(struct gate *g, struct gate_conn *c)
{
	g->stats.slow_dropped++;
	wisp_log(g->ctx, WISP_LOG_WARN, "client %s (conn %d) dropped: it does "
		"not read, and gate.output_limit (%zu bytes) is full", c->addr, c->id,
		g->cfg->output_limit);
	wisp_gate_lost(g, c, "not reading: gate.output_limit reached");
}

void wisp_gate_sweep(struct gate *g, uint64_t now_ms)
{
	uint32_t idle = g->cfg->idle_timeout_ms;
	if (idle == 0)
		return;
	for (uint32_t i = g->count; i-- > 0;) {
		struct gate_conn *c = g->list[i];
		if (now_ms - c->last_in_ms < idle)
			continue;
		g->stats.idle_closed++;
		wisp_log(g->ctx, WISP_LOG_INFO, "client %s (conn %d) closed: silent "
			"for gate.idle_timeout (%u ms)", c->addr, c->id, idle);
		wisp_gate_close(g, c, "idle timeout");
	}
}
