/* conn.c: the gate's client connections: accepting them up to the limits
 * (in all, and from one address), decoding their frames, the rate limit,
 * the deadlines (idle, a frame begun, the first frame), the budget of
 * bytes in unfinished frames, and closing them. A connection that breaks
 * a rule is closed with a log line naming the rule; no other connection
 * notices. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include "gate_service.h"
#include "socket.h"

#define WARN_INTERVAL_MS 1000
#define SWEEP_MAX_MS 1000

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

static uint64_t big_endian(const uint8_t *b, int n)
{
	uint64_t v = 0;
	while (n-- > 0)
		v = v << 8 | *b++;
	return v;
}

/* What a client counts under for gate.max_per_address: its IPv4 address,
 * or the /64 network of an IPv6 one (a host is commonly given a whole
 * /64, so counting its addresses one by one would cap nothing). IPv4 keys
 * are 2^32 + the address, IPv6 keys the 64-bit prefix (1 for ::/64, which
 * holds ::1): they could meet only in ::/16, which is reserved. 0 when
 * addr, "ip:port" or "[ip]:port", holds no address. */
static uint64_t address_key(const char *addr)
{
	char ip[INET6_ADDRSTRLEN];
	const char *start = addr + (addr[0] == '[');
	const char *end = strrchr(addr, addr[0] == '[' ? ']' : ':');
	if (end == NULL || end < start || end - start >= (long)sizeof(ip))
		return 0;
	memcpy(ip, start, (size_t)(end - start));
	ip[end - start] = '\0';
	struct in6_addr a6;
	struct in_addr a4;
	if (inet_pton(AF_INET, ip, &a4) == 1)
		return 1ull << 32 | ntohl(a4.s_addr);
	if (inet_pton(AF_INET6, ip, &a6) != 1)
		return 0;
	if (IN6_IS_ADDR_V4MAPPED(&a6))
		return 1ull << 32 | big_endian(a6.s6_addr + 12, 4);
	uint64_t prefix = big_endian(a6.s6_addr, 8);
	return prefix ? prefix : 1;
}

static uint32_t address_count(const struct gate *g, uint64_t key)
{
	return (uint32_t)(uintptr_t)wisp_keymap_get(&g->per_address, key);
}

static void address_add(struct gate *g, uint64_t key, int delta)
{
	if (key == 0)
		return;
	uintptr_t n = address_count(g, key);
	n = delta > 0 ? n + 1 : n - 1;
	if (n)
		wisp_keymap_put(&g->per_address, key, (void *)n);
	else
		wisp_keymap_remove(&g->per_address, key);
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
	address_add(g, c->addr_key, 1);
}

/* Out of the list by moving the last one into its place. */
static void forget(struct gate *g, struct gate_conn *c)
{
	struct gate_conn *last = g->list[--g->count];
	g->list[c->index] = last;
	last->index = c->index;
	wisp_keymap_remove(&g->by_id, (uint32_t)c->id);
	address_add(g, c->addr_key, -1);
	g->partial_bytes -= c->held;
	wisp_gate_flow_forget(g, c);
	if (c->ws)
		wisp_gate_ws_free(c);
	if (c->tls)
		wisp_gate_tls_free(c);
	wisp_client_decoder_free(&c->dec);
	wisp_free(c);
}

/* In thousandths of a frame; a burst of 0 means a second's worth. */
static uint64_t burst(const struct gate *g)
{
	uint32_t b = g->cfg->rate_burst ? g->cfg->rate_burst : g->cfg->rate_limit;
	return (uint64_t)b * 1000;
}

/* limit ms from now, or 0 (no deadline) when the limit is 0. */
static uint64_t due(uint64_t now, uint32_t limit)
{
	return limit ? now + limit : 0;
}

/* Closes a new client at once; the log names the limit, at most once a
 * second for each. */
static void refuse(struct gate *g, int id, const char *addr,
	enum gate_warning kind, const char *limit, uint32_t value)
{
	wisp_net_close(id);
	if (wisp_gate_may_warn(g, kind))
		wisp_log(g->ctx, WISP_LOG_WARN, "refused client %s: gate.%s (%u) "
			"reached", addr, limit, value);
}

/* 1 when the client may stay, as far as the counts go; *key gets what it
 * counts under for max_per_address. */
static int admit(struct gate *g, int id, const char *addr, uint64_t *key)
{
	const struct wisp_gate_settings *s = g->cfg;
	*key = s->max_per_address ? address_key(addr) : 0;
	if (g->count >= s->max_connections || g->listener < 0) {
		g->stats.refused++;
		refuse(g, id, addr, GATE_WARN_REFUSED, "max_connections",
			s->max_connections);
		return 0;
	}
	if (*key && address_count(g, *key) >= s->max_per_address) {
		g->stats.address_refused++;
		refuse(g, id, addr, GATE_WARN_PER_ADDRESS, "max_per_address",
			s->max_per_address);
		return 0;
	}
	return 1;
}

void wisp_gate_accepted(struct gate *g, int id, const char *addr, int ws)
{
	uint64_t key;
	if (!admit(g, id, addr, &key))
		return;
	struct gate_conn *c = wisp_malloc(sizeof(*c));
	memset(c, 0, sizeof(*c));
	c->id = id;
	c->last_in_ms = c->refill_ms = wisp_now();
	c->first_due_ms = due(c->last_in_ms, g->cfg->first_frame_timeout_ms);
	c->addr_key = key;
	c->bcast_seq = g->bcast_seq; /* broadcasts before it are not its */
	c->tokens = burst(g);
	snprintf(c->addr, sizeof(c->addr), "%s", addr);
	wisp_client_decoder_init(&c->dec, &g->proto);
	if (wisp_net_set_limit(id, g->cfg->output_limit) < 0
		|| wisp_net_read_limit(id, GATE_READ_AHEAD) < 0
		|| wisp_net_start(wisp_self(g->ctx), id) < 0
		|| (g->tls && wisp_gate_tls_open(g, c) < 0)) {
		wisp_free(c);
		wisp_net_close(id);
		return;
	}
	add(g, c);
	g->stats.accepted++;
	/* services hear of it once upgraded, or once its handshake is done */
	if (ws)
		wisp_gate_ws_open(g, c);
	else if (!c->tls)
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

/* The budget is full and c's unfinished frame (or its backlog, flow.c)
 * asks for more: c is the one closed, not the largest holder, which would take a walk or a heap
 * to find. Each holder is gone within gate.frame_timeout anyway; the
 * budget only bounds the memory they hold meanwhile. Frames that come
 * whole in one read are never buffered, so most clients pass regardless. */
void wisp_gate_over_budget(struct gate *g, struct gate_conn *c)
{
	char why[96];
	snprintf(why, sizeof(why), "partial-frame budget gate.partial_budget "
		"(%zu bytes) is full", g->cfg->partial_budget);
	g->stats.budget_closed++;
	wisp_log(g->ctx, WISP_LOG_WARN, "client %s (conn %d) closed: %s",
		c->addr, c->id, why);
	wisp_gate_close(g, c, why);
}

/* After a read that ended inside a frame or between frames: when the
 * unfinished frame is due (it began in this read if a frame came whole
 * before it), and what the decoder holds, against gate.partial_budget. */
static void track_partial(struct gate *g, struct gate_conn *c, uint64_t now,
	int frames)
{
	const struct wisp_gate_settings *s = g->cfg;
	if (frames)
		c->first_due_ms = 0;
	if (wisp_client_partial(&c->dec) == 0)
		c->frame_due_ms = 0;
	else if (frames || c->frame_due_ms == 0)
		c->frame_due_ms = due(now, s->frame_timeout_ms);
	uint32_t was = c->held;
	c->held = (uint32_t)wisp_client_held(&c->dec);
	g->partial_bytes = g->partial_bytes - was + c->held;
	if (c->held > was && s->partial_budget
		&& g->partial_bytes > s->partial_budget)
		wisp_gate_over_budget(g, c);
}

/* With gate.request_ids every body begins with one (CLIENT.md). */
static void close_no_id(struct gate *g, struct gate_conn *c, uint32_t size)
{
	char why[96];
	snprintf(why, sizeof(why), "a frame body of %u bytes, too short for the "
		"request id gate.request_ids asks for", size);
	g->stats.bad_frames++;
	wisp_log(g->ctx, WISP_LOG_WARN, "client %s (conn %d) closed: %s",
		c->addr, c->id, why);
	wisp_gate_close(g, c, why);
}

/* One frame on to its service, its request id taken off first: 0, or -1
 * when c is gone (over its rate, no request id, or dropped by the error
 * frame of a command that failed at once). */
static int take_frame(struct gate *g, struct gate_conn *c,
	struct wisp_client_frame *f, uint64_t now)
{
	int id = c->id;
	if (!within_rate(g, c, now)) {
		close_fast(g, c);
		return -1;
	}
	if (g->cfg->request_ids && wisp_client_take_id(f) < 0) {
		close_no_id(g, c, f->size);
		return -1;
	}
	g->stats.frames_in++;
	c->request = f->request;
	wisp_gate_forward(g, c, f);
	return wisp_gate_conn(g, (uint32_t)id) ? 0 : -1;
}

/* Each frame is forwarded as it is decoded, while the next may go now:
 * the decoder stops between frames, never inside one. A bad frame ends
 * the connection, and the frames before it have gone on already. */
long wisp_gate_decode(struct gate *g, struct gate_conn *c,
	const uint8_t *data, size_t size)
{
	uint64_t now = wisp_now();
	struct wisp_client_frame f;
	int rc = 0, frames = 0, id = c->id;
	size_t given = size;
	while (wisp_gate_flow_next(g, c, data, size)
		&& (rc = wisp_client_next(&c->dec, &data, &size, &f)) == 1) {
		frames++;
		if (take_frame(g, c, &f, now) < 0)
			return -1;
	}
	if (rc < 0)
		close_bad(g, c);
	else
		track_partial(g, c, now, frames);
	return wisp_gate_conn(g, (uint32_t)id) ? (long)(given - size) : -1;
}

void wisp_gate_data(struct gate *g, struct gate_conn *c, const uint8_t *data,
	size_t size)
{
	c->last_in_ms = wisp_now();
	g->stats.bytes_in += size;
	if (c->tls)
		wisp_gate_tls_data(g, c, data, size);
	else
		wisp_gate_plain(g, c, data, size);
}

/* The bytes go to the decoder as far as c's commands in flight allow
 * (flow.c keeps the rest). */
void wisp_gate_plain(struct gate *g, struct gate_conn *c,
	const uint8_t *data, size_t size)
{
	if (c->ws)
		wisp_gate_ws_data(g, c, data, size);
	else
		wisp_gate_flow_in(g, c, data, size);
}

void wisp_gate_close(struct gate *g, struct gate_conn *c, const char *why)
{
	if (c->ws)
		wisp_gate_ws_bye(c, 1008, why); /* policy: a limit of the gate's */
	if (c->tls)
		wisp_gate_tls_flush_conn(c);
	wisp_net_close(c->id);
	wisp_gate_lost(g, c, why);
}

void wisp_gate_lost(struct gate *g, struct gate_conn *c, const char *why)
{
	if (!wisp_gate_ws_pending(c) && !wisp_gate_tls_pending(c))
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

static void close_late(struct gate *g, struct gate_conn *c, int level,
	const char *why)
{
	g->stats.frame_closed++;
	wisp_log(g->ctx, level, "client %s (conn %d) closed: %s", c->addr, c->id,
		why);
	wisp_gate_close(g, c, why);
}

/* Closes c if a deadline of its has passed, naming the idle timeout
 * first when several have. Trickling bytes keeps a client from being
 * idle, not from being late with a frame. */
static void expire(struct gate *g, struct gate_conn *c, uint64_t now)
{
	const struct wisp_gate_settings *s = g->cfg;
	char why[96];
	/* a WebSocket client is asked to show life (its pong is) */
	if (c->ws && s->idle_timeout_ms
		&& now - c->last_in_ms >= s->idle_timeout_ms / 2)
		wisp_gate_ws_ping(c);
	/* a client at gate.max_inflight waits on us, not we on it */
	if (s->idle_timeout_ms && now - c->last_in_ms >= s->idle_timeout_ms
		&& wisp_gate_flow_open(g, c)) {
		g->stats.idle_closed++;
		wisp_log(g->ctx, WISP_LOG_INFO, "client %s (conn %d) closed: silent "
			"for gate.idle_timeout (%u ms)", c->addr, c->id,
			s->idle_timeout_ms);
		wisp_gate_close(g, c, "idle timeout");
	} else if (c->first_due_ms && now >= c->first_due_ms) {
		snprintf(why, sizeof(why), "no whole %s within gate."
			"first_frame_timeout (%u ms) of connecting",
			wisp_gate_tls_pending(c) ? "TLS handshake"
			: wisp_gate_ws_pending(c) ? "websocket upgrade" : "frame",
			s->first_frame_timeout_ms);
		close_late(g, c, WISP_LOG_INFO, why);
	} else if (c->frame_due_ms && now >= c->frame_due_ms) {
		snprintf(why, sizeof(why), "frame not completed within gate."
			"frame_timeout (%u ms)", s->frame_timeout_ms);
		close_late(g, c, WISP_LOG_WARN, why);
	}
}

/* One walk over every conn: each tick costs O(conns) however many
 * deadlines there are. */
void wisp_gate_sweep(struct gate *g, uint64_t now_ms)
{
	for (uint32_t i = g->count; i-- > 0;)
		expire(g, g->list[i], now_ms);
}

/* A quarter of the shortest deadline, so that none is overrun by more. */
uint32_t wisp_gate_sweep_every(const struct gate *g)
{
	const struct wisp_gate_settings *s = g->cfg;
	uint32_t limits[] = { s->idle_timeout_ms, s->frame_timeout_ms,
		s->first_frame_timeout_ms, s->reply_timeout_ms };
	uint32_t every = SWEEP_MAX_MS;
	for (size_t i = 0; i < sizeof(limits) / sizeof(limits[0]); i++)
		if (limits[i] && limits[i] / 4 < every)
			every = limits[i] / 4;
	return every ? every : 1;
}
