/* clock.h: the node's clocks: monotonic nanoseconds and milliseconds
 * since start (wisp_now in wisp.h), and cheap ticks for timing turns. */
#ifndef WISP_CLOCK_H
#define WISP_CLOCK_H

#include <stdint.h>

/* Sets the node's start: wisp_now() counts from here. */
void wisp_clock_start(void);
uint64_t wisp_clock_ns(void);
/* The CPU's time stamp counter where there is one (a clock read on every
 * turn shows in every message's cost), else nanoseconds. */
uint64_t wisp_ticks(void);
/* A span of ticks in ns, at the rate measured since the start. */
uint64_t wisp_ticks_ns(uint64_t ticks);

#endif
