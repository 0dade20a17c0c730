/* test_trace.c: traces in the runtime: a call sent with no trace starts
 * one; a message sent while handling a traced one carries its trace, and
 * so does the answer; nothing leaks past the handler; spans are recorded
 * for the services that worked for a trace, in a ring that stays bounded. */
#include <stdio.h>
#include <stdlib.h>
#include "fixture.h"
#include "testlib.h"

/* Every message a relay handles: who, what, and the trace it ran in. */
struct seen {
	wisp_handle self;
	int type;
	uint64_t trace;
	char text[32];
};
static struct seen seen[64];
static int seen_count;

/* "ask HANDLE": a call to it; "tell HANDLE": a send without session;
 * "begin HANDLE": two sends to it, each in a trace of its own (as the
 * gate's frames); a request with a session is answered "done". */
static int relay(struct wisp_context *ctx, void *ud, int type, int session,
	wisp_handle source, void *msg, size_t sz)
{
	(void)ud;
	struct seen *s = &seen[seen_count++ % 64];
	s->self = wisp_self(ctx);
	s->type = type;
	s->trace = wisp_trace();
	snprintf(s->text, sizeof(s->text), "%.*s", (int)sz, msg ? (char *)msg : "");
	unsigned to;
	if (sscanf(s->text, "ask %x", &to) == 1)
		wisp_send(ctx, to, WISP_MSG_TEXT, wisp_new_session(ctx),
			wisp_strdup("q"), 1);
	else if (sscanf(s->text, "tell %x", &to) == 1)
		wisp_send(ctx, to, WISP_MSG_TEXT, 0, wisp_strdup("n"), 1);
	else if (sscanf(s->text, "begin %x", &to) == 1)
		for (int i = 0; i < 2; i++) {
			uint64_t t = wisp_trace_begin(ctx);
			CHECK(t != 0 && wisp_trace() == t);
			wisp_send(ctx, to, WISP_MSG_TEXT, 0, wisp_strdup("b"), 1);
		}
	else if (type == WISP_MSG_TEXT && session > 0)
		wisp_send(ctx, source, WISP_MSG_RESPONSE, session,
			wisp_strdup("done"), 4);
	return 0;
}

static int relay_init(void *inst, struct wisp_context *ctx, const char *a)
{
	(void)inst; (void)a;
	wisp_set_callback(ctx, NULL, relay);
	return 0;
}

static const struct wisp_module relay_module = {
	.name = "relay", .init = relay_init,
};

static wisp_handle start(void)
{
	char err[256];
	wisp_handle h = wisp_service_start("relay", "", err, sizeof(err));
	CHECK(h != 0);
	return h;
}

static void up(void)
{
	seen_count = 0;
	fixture_up(100);
	wisp_module_builtin(&relay_module);
}

/* Sends text to h from outside any handler, in trace (0: none). */
static void post(wisp_handle h, uint64_t trace, const char *fmt, wisp_handle x)
{
	char buf[32];
	snprintf(buf, sizeof(buf), fmt, x);
	uint64_t was = wisp_trace_swap(trace);
	wisp_deliver(0, h, WISP_MSG_TEXT, 0, wisp_strdup(buf), strlen(buf));
	wisp_trace_swap(was);
}

static void count_span(void *ud, const struct wisp_trace_span *s)
{
	(void)s;
	(*(int *)ud)++;
}

static int spans_of(uint64_t trace)
{
	int n = 0;
	wisp_trace_spans(trace, count_span, &n);
	return n;
}

/* A call with no trace starts one; the callee and the answer carry it. */
static void call_starts_a_trace(void)
{
	up();
	wisp_handle a = start(), b = start();
	post(a, 0, "ask %x", b);
	wisp_scheduler_drain();
	CHECK_INT(seen_count, 3); /* a: ask; b: the call; a: the answer */
	CHECK(seen[0].trace == 0);
	CHECK(seen[1].self == b && seen[1].trace != 0);
	CHECK(seen[2].type == WISP_MSG_RESPONSE && seen[2].trace == seen[1].trace);
	CHECK(wisp_trace() == 0); /* nothing leaks past the handlers */
	/* a's work for it (the call, then the answer: one span) and b's */
	CHECK_INT(spans_of(seen[1].trace), 2);
	/* the next call starts another */
	post(a, 0, "ask %x", b);
	wisp_scheduler_drain();
	CHECK(seen[4].trace != 0 && seen[4].trace != seen[1].trace);
	fixture_down();
}

/* A traced message's sends, calls and answers carry its trace. */
static void trace_is_carried(void)
{
	up();
	wisp_handle a = start(), b = start();
	const uint64_t t = 0x0123456789abcdefull;
	post(a, t, "tell %x", b);
	post(a, t, "ask %x", b);
	wisp_scheduler_drain();
	CHECK_INT(seen_count, 5);
	for (int i = 0; i < seen_count; i++)
		CHECK(seen[i].trace == t);
	/* a plain send with no trace starts none */
	post(a, 0, "tell %x", b);
	wisp_scheduler_drain();
	CHECK(seen[seen_count - 1].trace == 0);
	CHECK(wisp_trace() == 0);
	fixture_down();
}

/* wisp_trace_begin: a fresh id each time, current for the rest of the
 * handler; the ring of spans holds its size whatever comes. */
static void begin_and_ring(void)
{
	up();
	uint64_t x = wisp_trace_new(), y = wisp_trace_new();
	CHECK(x != 0 && y != 0 && x != y);
	CHECK_INT((int)(x >> 54), 1); /* the node id is in the top bits */
	wisp_handle a = start(), b = start();
	post(a, 0, "begin %x", b);
	wisp_scheduler_drain();
	CHECK_INT(seen_count, 3);
	CHECK(seen[1].trace != 0 && seen[2].trace != 0
		&& seen[1].trace != seen[2].trace);
	CHECK(wisp_trace() == 0);
	/* a's turns in a row for one trace make one span */
	for (int i = 0; i < 10; i++) {
		post(a, x, "tell %x", 0);
		wisp_scheduler_drain();
	}
	CHECK_INT(spans_of(x), 1);
	/* a ring: the oldest traces' spans go, the newest stay */
	for (int i = 0; i < 3 * WISP_TRACE_SPANS; i++) {
		y = wisp_trace_new();
		post(a, y, "tell %x", 0);
		wisp_scheduler_drain();
	}
	CHECK_INT(spans_of(x), 0);
	CHECK_INT(spans_of(y), 1);
	fixture_down();
}

int main(void)
{
	RUN(call_starts_a_trace);
	RUN(trace_is_carried);
	RUN(begin_and_ring);
	return TEST_END();
}
