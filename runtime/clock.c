/* clock.c: the node's clocks. Ticks convert to time at the rate seen
 * between the start and now, so no calibration is needed. */
#include <time.h>
#include "clock.h"
#include "wisp.h"

static uint64_t start_ns, start_ticks;

uint64_t wisp_clock_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
uint64_t wisp_ticks(void)
{
	return __rdtsc();
}
#else
uint64_t wisp_ticks(void)
{
	return wisp_clock_ns();
}
#endif

void wisp_clock_start(void)
{
	start_ns = wisp_clock_ns();
	start_ticks = wisp_ticks();
}

uint64_t wisp_ticks_ns(uint64_t ticks)
{
	uint64_t ns = wisp_clock_ns() - start_ns, span = wisp_ticks() - start_ticks;
	return span ? (uint64_t)((double)ticks * (double)ns / (double)span) : 0;
}

uint64_t wisp_now(void)
{
	return (wisp_clock_ns() - start_ns) / 1000000u;
}
