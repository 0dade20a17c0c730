/* spin.c: the spin policy of spin.h: a learned gap, and a back-off after
 * the process lost its CPU in the middle of a spin, growing while that
 * keeps happening, longest at once on a host that stays busy. */
#include <sched.h>
#include <stdio.h>
#include <unistd.h>
#include "spin.h"

/* Longer gaps count as this: one idle spell must not outweigh many quick
 * answers for long. */
#define GAP_CAP_NS (4 * WISP_SPIN_GAP_NS)
/* What an idle spell slept through without a spin counts as, at most. */
#define SLEPT_GAP_NS (WISP_SPIN_GAP_NS - WISP_SPIN_GAP_NS / 8)

static int allowed_cpus(void)
{
	cpu_set_t set;
	if (sched_getaffinity(0, sizeof(set), &set) < 0)
		return (int)sysconf(_SC_NPROCESSORS_ONLN);
	return CPU_COUNT(&set);
}

void wisp_spin_init(struct wisp_spin *s)
{
	*s = (struct wisp_spin){ .gap_ns = GAP_CAP_NS, .cpus = allowed_cpus(),
		.host_busy = wisp_spin_host_busy };
}

/* The fourth field of /proc/loadavg is "runnable/total" right now. Read
 * only when a spin lost its CPU, a few times a second at most. */
int wisp_spin_host_busy(int cpus)
{
	FILE *f = fopen("/proc/loadavg", "re");
	if (f == NULL)
		return 0;
	int runnable, fields = fscanf(f, "%*s %*s %*s %d/", &runnable);
	fclose(f);
	return fields == 1 && runnable > cpus;
}

/* The most when the host looked busy at this loss and the last; twice
 * the last when lost again within its length of its end (busy_until);
 * otherwise the least. One busy look is not enough: the task that took
 * the CPU, or a burst of short ones, may still be runnable. */
static void back_off(struct wisp_spin *s, uint64_t now)
{
	uint64_t ns = WISP_SPIN_BACKOFF_MIN_NS;
	int busy = s->host_busy && s->host_busy(s->cpus);
	if (busy && s->busy_loss
		&& now - s->busy_loss < WISP_SPIN_BUSY_WINDOW_NS)
		ns = WISP_SPIN_BACKOFF_MAX_NS;
	else if (s->backoff_ns && now < s->busy_until + s->backoff_ns)
		ns = s->backoff_ns * 2 < WISP_SPIN_BACKOFF_MAX_NS
			? s->backoff_ns * 2 : WISP_SPIN_BACKOFF_MAX_NS;
	s->backoff_ns = ns;
	s->busy_until = now + ns;
	s->busy_loss = busy ? now : 0;
}

uint64_t wisp_spin_budget(const struct wisp_spin *s)
{
	if (s->cpus <= 1 || s->gap_ns >= WISP_SPIN_GAP_NS)
		return 0;
	return WISP_SPIN_MAX_NS;
}

int wisp_spin_poll(struct wisp_spin *s, uint64_t now, uint64_t idle_ns)
{
	if (s->spinning && now - s->last_poll > WISP_SPIN_DESCHEDULED_NS)
		back_off(s, now);
	s->spinning = now >= s->busy_until && idle_ns < wisp_spin_budget(s);
	s->spell_spun |= s->spinning;
	s->last_poll = now;
	return s->spinning;
}

void wisp_spin_worked(struct wisp_spin *s, uint64_t idle_ns)
{
	uint64_t cap = s->spell_spun ? GAP_CAP_NS : SLEPT_GAP_NS;
	uint64_t gap = idle_ns < cap ? idle_ns : cap;
	s->gap_ns = s->gap_ns - s->gap_ns / 8 + gap / 8; /* a moving average */
	s->spinning = 0;
	s->spell_spun = 0;
}
