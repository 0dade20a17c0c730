/* wisp_load.c: wisp-load, the load generator for the gate. It opens many
 * client connections from one thread on epoll, sends a mix of commands at
 * a total rate (or keeps K requests outstanding on every connection), and
 * times each reply against its request: by default replies come back in
 * order on a connection, so the oldest request is the one answered; with
 * --request-ids each request carries an id and its reply or error frame
 * the same, so they may come in any order. An error frame from the gate
 * ends its request as an error. It prints a progress line each second
 * and a summary at the end. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>
#include "loadkit.h"

#define MAX_MIX 64
#define CONNECT_TIMEOUT_MS 5000
/* How long replies are awaited once sending stops. */
#define DRAIN_US 2000000
/* Credit for frames not sent because every connection was full is kept up
 * to this long, so that a stall is not followed by an unbounded burst. */
#define MAX_CREDIT_S 0.1
#define SHOWN_ERRORS 5
#define READ_BUF 65536
#define EVENTS 256

/* Latency histogram in microseconds: exact below HIST_LINEAR, then
 * HIST_SUB buckets per power of two (about 3% wide) up to 2^32 us. */
#define HIST_LINEAR 64
#define HIST_SUB 32
#define HIST_BUCKETS (HIST_LINEAR + (32 - 6) * HIST_SUB)

struct mix {
	uint32_t command;
	uint32_t size;
};

struct options {
	struct lk_gate gate; /* first: see struct lk_option */
	long connections;
	double rate;
	double duration;
	int outstanding;
	int mix_count;
	struct mix mix[MAX_MIX];
};

enum { CONNECTING, OPEN, DEAD };

/* A request awaiting its reply: when it left (us since the run began;
 * --duration is bounded so that this fits), which mix entry it was and,
 * with --request-ids, its id (0 while the slot is free). */
struct request {
	uint32_t sent_us;
	uint32_t kind;
	uint32_t id;
};

/* An id names its slot in its low bits (--outstanding is at most 1024)
 * and a count of the connection's requests above them, so that a reply
 * to a request long gone does not match the slot's next one. */
#define SLOT_BITS 10

/* One connection. Its outstanding requests are --outstanding slots in
 * struct load's requests: a ring from head, count of them, answered in
 * order; or, with --request-ids, any count of them, found by id. */
struct load_conn {
	struct wisp_cli *cli;
	uint16_t head, count;
	uint8_t state;
	uint8_t writing; /* EPOLLOUT is asked for */
	uint32_t sent;   /* requests sent, for their ids */
};

struct load {
	struct options opt;
	struct load_conn *conns;
	struct request *requests;
	uint8_t *body;  /* every body is a prefix of it */
	uint8_t *buf;   /* every connection reads into it */
	int ep;
	int sending;
	uint64_t start, now;            /* us on the monotonic clock */
	uint64_t sent, received, outstanding, last_reply;
	struct lk_errors errors;
	long open, connecting, failed, cursor;
	unsigned long next_kind;
	double credit;
	uint64_t hist[HIST_BUCKETS], hist_count;
};

/* ---- options ---- */

static const char usage[] =
	"usage: wisp-load [options] HOST:PORT\n"
	"Opens client connections to a gate, sends it frames and times "
	"the replies.\n"
	"  --connections N     connections to open (100)\n"
	"  --rate R            frames/s in all; 0: as fast as --outstanding "
	"allows (0)\n"
	"  --duration S        seconds of sending (10)\n"
	"  --outstanding K     requests awaiting a reply per connection, "
	"at most (8)\n"
	"  --mix CMD:SIZE,...  commands and their body sizes, sent in "
	"turn (1:64)\n"
	"  --max-body N        the largest body either way (65536)\n"
	LK_SHARED_USAGE
	"HOST is a numeric IPv4 or IPv6 address: 127.0.0.1:9000, "
	"[::1]:9000.\n";

static const char *parse_connections(void *opts, const char *v)
{
	struct options *o = opts;
	unsigned long long n;
	if (lk_whole(v, 1, 1000000, &n) < 0)
		return "want a whole number from 1 to 1000000";
	o->connections = (long)n;
	return NULL;
}

static const char *parse_rate(void *opts, const char *v)
{
	struct options *o = opts;
	if (lk_real(v, 0, 1e9, &o->rate) < 0)
		return "want frames/s from 0 (as fast as possible) to 1e9";
	return NULL;
}

/* Bounded so that a request's time, in us since the start, fits 32 bits
 * with the drain after it. */
static const char *parse_duration(void *opts, const char *v)
{
	struct options *o = opts;
	if (lk_real(v, 0.001, 3600, &o->duration) < 0)
		return "want seconds, above 0 and at most 3600";
	return NULL;
}

static const char *parse_outstanding(void *opts, const char *v)
{
	struct options *o = opts;
	unsigned long long n;
	if (lk_whole(v, 1, 1024, &n) < 0)
		return "want a whole number from 1 to 1024";
	o->outstanding = (int)n;
	return NULL;
}

static const char *parse_mix(void *opts, const char *v)
{
	static const char want[] =
		"want CMD:SIZE[,CMD:SIZE...], e.g. 101:64,102:16";
	struct options *o = opts;
	o->mix_count = 0;
	do {
		unsigned long long command, size;
		if (o->mix_count == MAX_MIX)
			return "at most 64 commands";
		if (lk_read_whole(&v, UINT32_MAX, &command) < 0 || *v++ != ':'
			|| lk_read_whole(&v, UINT32_MAX - 4, &size) < 0)
			return want;
		o->mix[o->mix_count++] = (struct mix){ (uint32_t)command,
			(uint32_t)size };
	} while (*v++ == ',');
	return v[-1] == '\0' ? NULL : want;
}

static const char *parse_max_body(void *opts, const char *v)
{
	struct options *o = opts;
	unsigned long long n;
	if (lk_whole(v, 0, UINT32_MAX - 4, &n) < 0)
		return "want a whole number from 0 to 4294967291";
	o->gate.proto.max_body = (uint32_t)n;
	return NULL;
}

/* --magic, --proto and --server are loadkit's. */
static const struct lk_option options[] = {
	{ "--connections", parse_connections },
	{ "--rate", parse_rate },
	{ "--duration", parse_duration },
	{ "--outstanding", parse_outstanding },
	{ "--mix", parse_mix },
	{ "--max-body", parse_max_body },
};

static const struct lk_tool tool = {
	.name = "wisp-load", .usage = usage, .options = options,
	.option_count = sizeof options / sizeof *options, .example_port = 9000,
};

/* 0, 1 when --help was asked (and printed), -1 when an argument is
 * wrong. */
static int parse_options(struct options *o, int argc, char **argv)
{
	*o = (struct options){
		.connections = 100, .duration = 10, .outstanding = 8,
		.mix_count = 1, .mix = { { 1, 64 } },
	};
	int r = lk_options(&tool, &o->gate, argc, argv);
	if (r != 0)
		return r;
	uint64_t id = o->gate.request_ids ? WISP_CLIENT_ID_SIZE : 0;
	for (int i = 0; i < o->mix_count; i++)
		if (o->mix[i].size + id > o->gate.proto.max_body)
			return lk_complain("bad option --mix: a body of %" PRIu32
				" bytes%s exceeds --max-body %" PRIu32, o->mix[i].size,
				id ? " and a request id" : "", o->gate.proto.max_body);
	return 0;
}

/* ---- latency ---- */

static int bucket_of(uint32_t us)
{
	if (us < HIST_LINEAR)
		return (int)us;
	int e = 31 - __builtin_clz(us); /* 6 or more */
	return HIST_LINEAR + (e - 6) * HIST_SUB
		+ (int)((us >> (e - 5)) & (HIST_SUB - 1));
}

/* The middle of what bucket b holds, in us. */
static double bucket_value(int b)
{
	if (b < HIST_LINEAR)
		return b;
	int e = (b - HIST_LINEAR) / HIST_SUB + 6;
	int sub = (b - HIST_LINEAR) % HIST_SUB;
	double width = ldexp(1, e - 5);
	return ldexp(1, e) + sub * width + width / 2;
}

static void record_latency(struct load *l, uint32_t us)
{
	l->hist[bucket_of(us)]++;
	l->hist_count++;
}

/* The latency below which a fraction q of the replies came, in ms. */
static double percentile_ms(const struct load *l, double q)
{
	uint64_t rank = (uint64_t)ceil(q * (double)l->hist_count), seen = 0;
	if (l->hist_count == 0)
		return 0;
	for (int b = 0; b < HIST_BUCKETS; b++) {
		seen += l->hist[b];
		if (seen >= rank && seen > 0)
			return bucket_value(b) / 1000;
	}
	return 0;
}

/* ---- connections ---- */

static long index_of(const struct load *l, const struct load_conn *lc)
{
	return (long)(lc - l->conns);
}

/* The at-th slot of lc's (by id), or of its ring (in order). */
static struct request *slot_at(struct load *l, struct load_conn *lc, int at)
{
	return &l->requests[index_of(l, lc) * l->opt.outstanding + at];
}

static struct request *slot(struct load *l, struct load_conn *lc, int at)
{
	return slot_at(l, lc, (lc->head + at) % l->opt.outstanding);
}

/* With --request-ids: a free slot of lc's, with the id of the request
 * about to use it; never 0, which pushes carry. */
static struct request *free_slot(struct load *l, struct load_conn *lc,
	uint32_t *id)
{
	int at = 0;
	while (slot_at(l, lc, at)->id != 0)
		at++; /* one is free: count < outstanding */
	do
		*id = ++lc->sent << SLOT_BITS | (uint32_t)at;
	while (*id == 0);
	return slot_at(l, lc, at);
}

static void watch(struct load *l, struct load_conn *lc, int op, uint32_t events)
{
	struct epoll_event ev = { .events = events };
	ev.data.u32 = (uint32_t)index_of(l, lc);
	if (epoll_ctl(l->ep, op, wisp_cli_fd(lc->cli), &ev) < 0)
		lk_error(&l->errors, "epoll_ctl: %s", strerror(errno));
}

/* Gives up on a connection; its outstanding requests will not be
 * answered. */
static void drop(struct load *l, struct load_conn *lc, const char *why)
{
	lk_error(&l->errors, "connection %ld: %s", index_of(l, lc), why);
	if (lc->state == OPEN)
		l->open--;
	else
		l->connecting--;
	l->failed++;
	l->outstanding -= lc->count;
	wisp_cli_free(lc->cli); /* closing the fd takes it out of epoll */
	lc->cli = NULL;
	lc->state = DEAD;
}

static void queue_request(struct load *l, struct load_conn *lc)
{
	uint32_t kind = (uint32_t)(l->next_kind++
		% (unsigned long)l->opt.mix_count);
	const struct mix *m = &l->opt.mix[kind];
	uint32_t id = 0;
	struct request *r = l->opt.gate.request_ids ? free_slot(l, lc, &id)
		: slot(l, lc, lc->count);
	/* cannot fail: open, and the sizes were checked */
	if ((id ? wisp_cli_queue_id(lc->cli, m->command, id, l->body, m->size)
		: wisp_cli_queue(lc->cli, m->command, l->body, m->size)) < 0)
		return;
	*r = (struct request){ (uint32_t)(l->now - l->start), kind, id };
	lc->count++;
	l->sent++;
	l->outstanding++;
}

/* Writes what lc has queued, asking for EPOLLOUT while some is left. */
static void flush(struct load *l, struct load_conn *lc)
{
	int r = wisp_cli_flush(lc->cli);
	if (r < 0) {
		drop(l, lc, wisp_cli_error(lc->cli));
	} else if (lc->writing != (r == 0)) {
		lc->writing = r == 0;
		watch(l, lc, EPOLL_CTL_MOD, EPOLLIN | (lc->writing ? EPOLLOUT : 0));
	}
}

struct reply_to {
	struct load *l;
	struct load_conn *lc;
};

/* The request f answers, taken off lc's outstanding ones: the one with
 * its id, or the oldest. NULL (said) when there is none. */
static struct request *answered(struct load *l, struct load_conn *lc,
	const struct wisp_client_frame *f)
{
	struct request *r = NULL;
	if (!l->opt.gate.request_ids)
		r = lc->count ? slot(l, lc, 0) : NULL;
	else {
		int at = (int)(f->request & ((1u << SLOT_BITS) - 1));
		r = at < l->opt.outstanding ? slot_at(l, lc, at) : NULL;
		r = f->request != 0 && r && r->id == f->request ? r : NULL;
	}
	if (r == NULL) {
		lk_error(&l->errors, "connection %ld: a frame (command %" PRIu32
			", request id %" PRIu32 ") that answers no request outstanding",
			index_of(l, lc), f->command, f->request);
		return NULL;
	}
	if (!l->opt.gate.request_ids)
		lc->head = (uint16_t)((lc->head + 1) % l->opt.outstanding);
	lc->count--;
	l->outstanding--;
	return r;
}

/* A reply must be of its request's command; an error frame must name
 * it, and counts as an error. */
static void check_reply(struct load *l, struct load_conn *lc,
	const struct request *r, const struct wisp_client_frame *f)
{
	uint32_t want = l->opt.mix[r->kind].command, command = f->command;
	char why[128];
	if (lk_is_error(&l->opt.gate, f)) {
		if (lk_error_frame(f, &command, why, sizeof why) == 0
			&& command == want)
			lk_error(&l->errors, "connection %ld: command %" PRIu32
				" failed: %s", index_of(l, lc), command, why);
		else
			lk_error(&l->errors, "connection %ld: the request of command %"
				PRIu32 " got an error frame: %s", index_of(l, lc), want, why);
	} else if (command != want) {
		lk_error(&l->errors, "connection %ld: the reply to command %" PRIu32
			" came as command %" PRIu32, index_of(l, lc), want, command);
	} else {
		record_latency(l, (uint32_t)(l->now - l->start) - r->sent_us);
	}
}

static void on_reply(void *ud, const struct wisp_client_frame *f)
{
	struct load *l = ((struct reply_to *)ud)->l;
	struct load_conn *lc = ((struct reply_to *)ud)->lc;
	l->received++;
	l->last_reply = l->now;
	struct request *r = answered(l, lc, f);
	if (r == NULL)
		return;
	check_reply(l, lc, r, f);
	r->id = 0;
	if (l->sending && l->opt.rate == 0)
		queue_request(l, lc);
}

static void connected(struct load *l, struct load_conn *lc)
{
	int r = wisp_cli_check(lc->cli);
	if (r < 0) {
		drop(l, lc, wisp_cli_error(lc->cli));
	} else if (r == 0) {
		lc->state = OPEN;
		l->connecting--;
		l->open++;
		watch(l, lc, EPOLL_CTL_MOD, EPOLLIN);
	} else { /* a TLS handshake or WebSocket upgrade goes on */
		watch(l, lc, EPOLL_CTL_MOD, lk_epoll_wants(lc->cli));
	}
}

static void on_event(struct load *l, struct load_conn *lc, uint32_t events)
{
	l->now = lk_now_us();
	if (lc->state == CONNECTING) {
		connected(l, lc);
		return;
	}
	if (lc->state != OPEN)
		return; /* dropped earlier in this batch */
	if (events & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
		struct reply_to to = { l, lc };
		if (wisp_cli_read(lc->cli, l->buf, READ_BUF, on_reply, &to) < 0) {
			drop(l, lc, wisp_cli_error(lc->cli));
			return;
		}
	}
	flush(l, lc);
}

static void poll_once(struct load *l, int timeout_ms)
{
	struct epoll_event ev[EVENTS];
	int n = epoll_wait(l->ep, ev, EVENTS, timeout_ms);
	for (int i = 0; i < n; i++)
		on_event(l, &l->conns[ev[i].data.u32], ev[i].events);
	l->now = lk_now_us();
}

/* Starts every connection, waits for them, and gives up on the slow. */
static void connect_all(struct load *l)
{
	l->now = lk_now_us();
	for (long i = 0; i < l->opt.connections; i++) {
		struct load_conn *lc = &l->conns[i];
		lc->cli = lk_client(&l->opt.gate);
		lc->state = CONNECTING;
		l->connecting++;
		int r = wisp_cli_connect(lc->cli, l->opt.gate.host,
			l->opt.gate.port, 0);
		if (r < 0)
			drop(l, lc, wisp_cli_error(lc->cli));
		else
			watch(l, lc, EPOLL_CTL_ADD, EPOLLOUT);
	}
	uint64_t deadline = l->now + CONNECT_TIMEOUT_MS * 1000;
	while (l->connecting > 0 && l->now < deadline)
		poll_once(l, lk_ms_until(l->now, deadline));
	char why[64];
	snprintf(why, sizeof why, "connect timed out after %d ms",
		CONNECT_TIMEOUT_MS);
	for (long i = 0; i < l->opt.connections; i++)
		if (l->conns[i].state == CONNECTING)
			drop(l, &l->conns[i], why);
}

/* ---- the run ---- */

/* The next open connection, in turn, with room for a request. */
static struct load_conn *next_with_room(struct load *l)
{
	for (long tries = 0; tries < l->opt.connections; tries++) {
		l->cursor = (l->cursor + 1) % l->opt.connections;
		struct load_conn *lc = &l->conns[l->cursor];
		if (lc->state == OPEN && lc->count < l->opt.outstanding)
			return lc;
	}
	return NULL;
}

/* Sends what --rate allows since the last call, one frame per connection
 * in turn. */
static void pace(struct load *l, uint64_t *last)
{
	l->credit += l->opt.rate * (double)(l->now - *last) / 1e6;
	*last = l->now;
	if (l->credit > l->opt.rate * MAX_CREDIT_S + 1)
		l->credit = l->opt.rate * MAX_CREDIT_S + 1;
	struct load_conn *lc;
	while (l->credit >= 1 && (lc = next_with_room(l)) != NULL) {
		queue_request(l, lc);
		flush(l, lc);
		l->credit -= 1;
	}
}

/* How long to wait for events: until the next frame is due, or the tick. */
static int wait_ms(const struct load *l, uint64_t tick)
{
	int ms = lk_ms_until(l->now, tick);
	if (l->opt.rate > 0 && l->credit < 1) {
		int due = (int)ceil((1 - l->credit) * 1000 / l->opt.rate);
		if (due < ms)
			ms = due;
	}
	return ms;
}

static void progress(struct load *l, uint64_t *sent, uint64_t *received,
	uint64_t *at)
{
	double s = (double)(l->now - *at) / 1e6;
	printf("%6.1f s  sent %.0f/s  received %.0f/s  p50 %.3f ms  "
		"p99 %.3f ms  errors %" PRIu64 "\n",
		(double)(l->now - l->start) / 1e6, (double)(l->sent - *sent) / s,
		(double)(l->received - *received) / s, percentile_ms(l, 0.5),
		percentile_ms(l, 0.99), l->errors.count);
	fflush(stdout);
	*sent = l->sent;
	*received = l->received;
	*at = l->now;
}

/* Sends for --duration; the time it stopped. */
static uint64_t run(struct load *l)
{
	l->now = l->start = lk_now_us();
	uint64_t end = l->start + (uint64_t)(l->opt.duration * 1e6);
	uint64_t tick = l->start + 1000000, last = l->start;
	uint64_t sent = 0, received = 0, at = l->start;
	l->sending = 1;
	for (long i = 0; l->opt.rate == 0 && i < l->opt.connections; i++)
		if (l->conns[i].state == OPEN) {
			while (l->conns[i].count < l->opt.outstanding)
				queue_request(l, &l->conns[i]);
			flush(l, &l->conns[i]);
		}
	while (l->now < end && l->open > 0 && !lk_interrupted) {
		if (l->opt.rate > 0)
			pace(l, &last);
		poll_once(l, wait_ms(l, tick < end ? tick : end));
		if (l->now >= tick) {
			progress(l, &sent, &received, &at);
			tick += 1000000;
		}
	}
	l->sending = 0;
	return l->now;
}

/* Awaits the replies still due; those that do not come are errors. */
static void drain(struct load *l)
{
	uint64_t deadline = l->now + DRAIN_US;
	while (l->outstanding > 0 && l->now < deadline)
		poll_once(l, lk_ms_until(l->now, deadline));
	if (l->outstanding > 0) {
		lk_error(&l->errors, "%" PRIu64 " replies missing %d s after "
			"sending stopped", l->outstanding, DRAIN_US / 1000000);
		l->errors.count += l->outstanding - 1; /* one for each reply */
	}
}

static void summary(struct load *l, uint64_t stopped)
{
	/* replies still arriving after the end stretch the window */
	uint64_t until = l->last_reply > stopped ? l->last_reply : stopped;
	double s = (double)(until - l->start) / 1e6;
	printf("summary: %.0f frames/s, p50 %.3f ms, p99 %.3f ms, errors %"
		PRIu64 ", failed connections %ld of %ld, sent %" PRIu64
		", received %" PRIu64 " in %.2f s\n",
		s > 0 ? (double)l->received / s : 0, percentile_ms(l, 0.5),
		percentile_ms(l, 0.99), l->errors.count, l->failed, l->opt.connections,
		l->sent, l->received, s);
}

static int setup(struct load *l)
{
	long n = l->opt.connections;
	uint32_t largest = 0;
	for (int i = 0; i < l->opt.mix_count; i++)
		if (l->opt.mix[i].size > largest)
			largest = l->opt.mix[i].size;
	l->ep = epoll_create1(EPOLL_CLOEXEC);
	if (l->ep < 0)
		return lk_complain("epoll_create1: %s", strerror(errno));
	l->conns = calloc((size_t)n, sizeof *l->conns);
	l->requests = calloc((size_t)n * (size_t)l->opt.outstanding,
		sizeof *l->requests);
	l->body = malloc(largest ? largest : 1);
	l->buf = malloc(READ_BUF);
	if (!l->conns || !l->requests || !l->body || !l->buf)
		return lk_complain("out of memory for %ld connections", n);
	for (uint32_t i = 0; i < largest; i++)
		l->body[i] = (uint8_t)('a' + i % 26);
	return 0;
}

static void teardown(struct load *l)
{
	for (long i = 0; l->conns && i < l->opt.connections; i++)
		if (l->conns[i].cli != NULL)
			wisp_cli_free(l->conns[i].cli);
	free(l->conns);
	free(l->requests);
	free(l->body);
	free(l->buf);
	if (l->ep >= 0)
		close(l->ep);
}

static int load_run(struct load *l)
{
	connect_all(l);
	printf("wisp-load: %ld of %ld connections open to %s:%d\n", l->open,
		l->opt.connections, l->opt.gate.host, l->opt.gate.port);
	fflush(stdout);
	if (l->open == 0)
		return lk_complain("every connection failed");
	uint64_t stopped = run(l);
	drain(l);
	summary(l, stopped);
	return l->failed == l->opt.connections
		? lk_complain("every connection failed") : 0;
}

int main(int argc, char **argv)
{
	static struct load l = { .ep = -1, .errors.shown = SHOWN_ERRORS };
	int parsed = parse_options(&l.opt, argc, argv);
	if (parsed != 0)
		return parsed < 0 ? 2 : 0;
	if (lk_raise_fd_limit("--connections", l.opt.connections, "open") < 0)
		return 1;
	lk_catch_interrupts();
	int r = setup(&l) < 0 ? -1 : load_run(&l);
	teardown(&l);
	lk_gate_free(&l.opt.gate);
	return r < 0 ? 1 : 0;
}
