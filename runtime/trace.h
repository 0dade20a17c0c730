/* trace.h: the trace of the work being done now, the ids of new traces,
 * and the node's bounded record of recent spans (a service's work for a
 * trace) and traced log lines, which slow calls and `wisp-ctl trace`
 * gather. The scheduler enters each message's trace and leaves it after
 * the handler; what is sent meanwhile carries it. */
#ifndef WISP_TRACE_H
#define WISP_TRACE_H

#include <stddef.h>
#include <stdint.h>
#include "wisp.h"

#define WISP_TRACE_SPANS 4096    /* spans kept, the oldest overwritten */
#define WISP_TRACE_LINES 2048    /* traced log lines kept */
#define WISP_TRACE_LINE_MAX 256  /* a kept line's bytes at most */

/* current: what a message sent now carries. worked: the trace the
 * running handler did work for, 0: none yet. turn: the traces the
 * running turn worked for (each once in a row), timed when it ends. */
#define WISP_TRACE_TURN 16
struct wisp_trace_now {
	uint64_t current;
	uint64_t worked;
	uint32_t turn_count;
	uint64_t turn[WISP_TRACE_TURN];
};
extern struct wisp_trace_now wisp_trace_now;

/* Ids start from a random point, the node id in the top bits, so they
 * are unique across the cluster and across restarts. */
void wisp_trace_init(uint32_t node_id, uint32_t slow_call_ms);
uint32_t wisp_trace_slow_call_ms(void);
/* A fresh trace id, never 0. */
uint64_t wisp_trace_new(void);

/* Makes t the trace that what is sent carries, without counting it as
 * the handler's work (the harbor passing messages on); the old one. */
static inline uint64_t wisp_trace_swap(uint64_t t)
{
	uint64_t was = wisp_trace_now.current;
	wisp_trace_now.current = t;
	return was;
}

/* Adds worked to the running turn's traces, and clears it. */
void wisp_trace_note_turn(void);

/* Makes t current, as work the running handler does for it (a Lua task
 * resumed in its trace): the turn's span will count it. */
static inline void wisp_trace_adopt(uint64_t t)
{
	wisp_trace_now.current = t;
	if (t == 0 || t == wisp_trace_now.worked)
		return;
	if (wisp_trace_now.worked) /* another trace's work before: noted */
		wisp_trace_note_turn();
	wisp_trace_now.worked = t;
}

/* The scheduler: a handler begins with a message's trace and ends; a
 * turn ends. Spans are timed by turns, whose clock the scheduler reads
 * anyway: a clock read per message would show in every message's cost. */
static inline void wisp_trace_enter(uint64_t t)
{
	wisp_trace_now.current = t;
	wisp_trace_now.worked = t;
}
static inline void wisp_trace_leave(void)
{
	if (wisp_trace_now.worked)
		wisp_trace_note_turn();
	wisp_trace_now.current = 0;
}
void wisp_trace_record_turn(wisp_handle h, uint64_t start, uint64_t ticks);
static inline void wisp_trace_turn_end(wisp_handle h, uint64_t start,
	uint64_t ticks)
{
	if (wisp_trace_now.turn_count)
		wisp_trace_record_turn(h, start, ticks);
}

/* Keeps a copy of a log line written for trace. */
void wisp_trace_note_line(uint64_t trace, const char *line, size_t n);

/* What the node recorded of a trace, oldest first: a service's turns
 * that worked for it, those in a row merged. start_ns is wall-clock time
 * (ns since the epoch), so that nodes' records can be merged; ns runs
 * from the first turn's start to the last one's end; busy_ns is the
 * turns' time. */
struct wisp_trace_span {
	wisp_handle handle;
	uint32_t turns;
	uint64_t start_ns;
	uint64_t ns;
	uint64_t busy_ns;
};
void wisp_trace_spans(uint64_t trace,
	void (*fn)(void *ud, const struct wisp_trace_span *s), void *ud);
void wisp_trace_lines(uint64_t trace,
	void (*fn)(void *ud, const char *line, size_t n), void *ud);

#endif
