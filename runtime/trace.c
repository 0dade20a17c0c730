/* trace.c: trace ids, and the node's record of recent spans and traced
 * log lines: two rings of fixed size, so memory does not grow with the
 * traffic; what is older than the rings hold is forgotten. A span is a
 * service's turns for a trace, timed by the scheduler's clock reads of
 * each turn; a turn like the last few of its service for the trace
 * extends that span rather than taking a slot. */
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include "clock.h"
#include "trace.h"

#define ID_BITS 54   /* under the node id's WISP_NODE_BITS */
#define ID_MASK ((1ull << ID_BITS) - 1)
#define LOOK_BACK 4  /* spans a turn may extend, the newest first */

struct span {
	uint64_t trace;
	uint64_t start, end, busy; /* ticks */
	wisp_handle handle;
	uint32_t turns;
};

struct line {
	uint64_t trace;
	uint16_t len;
	char text[WISP_TRACE_LINE_MAX];
};

struct wisp_trace_now wisp_trace_now;

static struct {
	uint64_t node;  /* the node id, shifted into place */
	uint64_t next;  /* the low bits of the next id */
	uint32_t slow_call_ms;
	uint32_t span_next, line_next; /* count up; the ring index is mod */
	struct span spans[WISP_TRACE_SPANS];
	struct line lines[WISP_TRACE_LINES];
} T;

void wisp_trace_init(uint32_t node_id, uint32_t slow_call_ms)
{
	/* the rings are read only up to their counts: clearing them would
	 * make their 700 KB of zero pages every idle node's own memory */
	T.span_next = T.line_next = 0;
	memset(&wisp_trace_now, 0, sizeof(wisp_trace_now));
	T.node = (uint64_t)node_id << ID_BITS;
	if (getrandom(&T.next, sizeof(T.next), 0) != sizeof(T.next))
		T.next = (uint64_t)time(NULL) << 20;
	T.slow_call_ms = slow_call_ms;
}

uint32_t wisp_trace_slow_call_ms(void)
{
	return T.slow_call_ms;
}

uint64_t wisp_trace_new(void)
{
	uint64_t id;
	do
		id = T.node | (T.next++ & ID_MASK);
	while (id == 0);
	return id;
}

uint64_t wisp_trace(void)
{
	return wisp_trace_now.current;
}

/* Adds t to the turn's traces: 0 when the list is full (a turn that
 * worked for more traces than it holds records the first ones only). */
static int note(uint64_t t)
{
	struct wisp_trace_now *n = &wisp_trace_now;
	if (n->turn_count && n->turn[n->turn_count - 1] == t)
		return 1;
	if (n->turn_count == WISP_TRACE_TURN)
		return 0;
	n->turn[n->turn_count++] = t;
	return 1;
}

void wisp_trace_note_turn(void)
{
	note(wisp_trace_now.worked);
	wisp_trace_now.worked = 0;
}

static struct span *recent(uint64_t trace, wisp_handle h)
{
	for (uint32_t i = 1; i <= LOOK_BACK && i <= T.span_next; i++) {
		struct span *s = &T.spans[(T.span_next - i) % WISP_TRACE_SPANS];
		if (s->trace == trace && s->handle == h)
			return s;
	}
	return NULL;
}

static void record(uint64_t trace, wisp_handle h, uint64_t start,
	uint64_t ticks)
{
	struct span *s = recent(trace, h);
	if (s == NULL) {
		s = &T.spans[T.span_next++ % WISP_TRACE_SPANS];
		*s = (struct span){ .trace = trace, .start = start, .end = start,
			.handle = h };
	}
	if (start + ticks > s->end)
		s->end = start + ticks;
	s->busy += ticks;
	s->turns++;
}

void wisp_trace_record_turn(wisp_handle h, uint64_t start, uint64_t ticks)
{
	for (uint32_t i = 0; i < wisp_trace_now.turn_count; i++)
		record(wisp_trace_now.turn[i], h, start, ticks);
	wisp_trace_now.turn_count = 0;
}

/* A trace the turn's list has no room for is timed from here alone. */
uint64_t wisp_trace_begin(struct wisp_context *ctx)
{
	uint64_t t = wisp_trace_new();
	if (wisp_trace_now.worked)
		wisp_trace_note_turn();
	if (!note(t))
		record(t, wisp_self(ctx), wisp_ticks(), 0);
	wisp_trace_adopt(t);
	return t;
}

void wisp_trace_note_line(uint64_t trace, const char *text, size_t n)
{
	struct line *l = &T.lines[T.line_next++ % WISP_TRACE_LINES];
	if (n > sizeof(l->text))
		n = sizeof(l->text);
	l->trace = trace;
	l->len = (uint16_t)n;
	memcpy(l->text, text, n);
}

/* Wall-clock ns of a tick count: ticks are cheaper to read, and their
 * distance to now is what converts. */
static uint64_t wall_ns(uint64_t ticks, uint64_t now_ticks, uint64_t now_ns)
{
	return now_ns - wisp_ticks_ns(now_ticks - ticks);
}

void wisp_trace_spans(uint64_t trace,
	void (*fn)(void *ud, const struct wisp_trace_span *s), void *ud)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	uint64_t now_ns = (uint64_t)ts.tv_sec * 1000000000ull
		+ (uint64_t)ts.tv_nsec, now = wisp_ticks();
	uint32_t n = T.span_next < WISP_TRACE_SPANS ? T.span_next
		: WISP_TRACE_SPANS;
	for (uint32_t i = T.span_next - n; i != T.span_next; i++) {
		const struct span *s = &T.spans[i % WISP_TRACE_SPANS];
		if (s->trace != trace)
			continue;
		struct wisp_trace_span out = { s->handle, s->turns,
			wall_ns(s->start, now, now_ns), wisp_ticks_ns(s->end - s->start),
			wisp_ticks_ns(s->busy) };
		fn(ud, &out);
	}
}

void wisp_trace_lines(uint64_t trace,
	void (*fn)(void *ud, const char *line, size_t n), void *ud)
{
	uint32_t n = T.line_next < WISP_TRACE_LINES ? T.line_next
		: WISP_TRACE_LINES;
	for (uint32_t i = T.line_next - n; i != T.line_next; i++) {
		const struct line *l = &T.lines[i % WISP_TRACE_LINES];
		if (l->trace == trace)
			fn(ud, l->text, l->len);
	}
}
