/* spin.h: whether the scheduler, out of work, keeps polling without
 * sleeping for a while (spins) or blocks at once. Spinning pays when the
 * answer to a call is on its way from a node on a free core: waking a
 * sleeping process costs more than the round trip. It costs twice when
 * there is no free core: the spinner holds off the very process it waits
 * for, and burns CPU others could use. So a node spins only when work
 * has been coming back quickly (a learned estimate of the gap between
 * going idle and the next work), never when the process may use one CPU,
 * and not for a while after it lost its CPU in the middle of a spin (the
 * host may have no core to spare: other processes take turns on its
 * core). That while is long when the host looked busy (more runnable
 * tasks than the process has CPUs) at two losses in a row, short after a
 * lone preemption or a passing burst of tasks, doubling each time the
 * CPU is lost again soon after the last back-off.
 *
 * A spin lasts longer than a wake-up takes (tens of microseconds on a
 * virtual machine): when one of two nodes calling each other slept, the
 * other's answer comes a wake-up late, and a shorter spin would sleep
 * too, so that each wake-up causes the next. For the same reason an idle
 * spell the node slept through without spinning teaches the estimate
 * little (its length is mostly the wake-up): it counts as 7/8 of the gap
 * that still pays at most, so a node that stopped spinning tries again.
 *
 * A process's involuntary context switches were tried as a busier
 * signal: on two cores two spinning nodes are preempted by any passing
 * task, so it stopped the spin that pays on an idle host. */
#ifndef WISP_SPIN_H
#define WISP_SPIN_H

#include <stdint.h>

/* Spin while the learned gap is under this, for at most WISP_SPIN_MAX_NS. */
#define WISP_SPIN_GAP_NS 50000
#define WISP_SPIN_MAX_NS 200000
/* A gap this long between two polls of one spin: the process was
 * descheduled (a poll takes about a microsecond). */
#define WISP_SPIN_DESCHEDULED_NS 100000
/* How long a node that lost its CPU while spinning does not spin: the
 * least, and the most it doubles to. */
#define WISP_SPIN_BACKOFF_MIN_NS 1000000ull
#define WISP_SPIN_BACKOFF_MAX_NS 1000000000ull
/* Two losses this close, the host looking busy at both: it is. */
#define WISP_SPIN_BUSY_WINDOW_NS 100000000ull

struct wisp_spin {
	uint64_t gap_ns;     /* estimate: from idle to the next work */
	uint64_t last_poll;  /* of the spin under way */
	int spinning;        /* a spin is under way */
	int spell_spun;      /* the idle spell under way had a spin */
	int cpus;            /* the process may run on this many */
	uint64_t busy_until; /* no spinning before then */
	uint64_t backoff_ns; /* how long the last back-off was */
	uint64_t busy_loss;  /* when the host looked busy at a loss, or 0 */
	/* whether the host has more runnable tasks than cpus (a test may
	 * replace it) */
	int (*host_busy)(int cpus);
};

void wisp_spin_init(struct wisp_spin *s);
/* host_busy's default: the runnable tasks of /proc/loadavg. */
int wisp_spin_host_busy(int cpus);
/* About to poll at now, idle_ns after the last work: 1 to poll without
 * waiting (spin), 0 to block until the next event or timer. */
int wisp_spin_poll(struct wisp_spin *s, uint64_t now, uint64_t idle_ns);
/* Work came (events, or services with mail) idle_ns after the last. */
void wisp_spin_worked(struct wisp_spin *s, uint64_t idle_ns);
/* The budget a spin has now: 0 when the node would block at once. */
uint64_t wisp_spin_budget(const struct wisp_spin *s);

#endif
