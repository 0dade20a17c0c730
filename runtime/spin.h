/* spin.h: whether the scheduler, out of work, keeps polling without
 * sleeping for a while (spins) or blocks at once. Spinning pays when the
 * answer to a call is on its way from a node on a free core: waking a
 * sleeping process costs more than the round trip. It costs twice when
 * there is no free core: the spinner holds off the very process it waits
 * for, and burns CPU others could use. So a node spins only when work
 * has been coming back quickly (a learned estimate of the gap between
 * going idle and the next work), never when the process may use one CPU,
 * and not for a while after it lost its CPU in the middle of a spin (the
 * host has no core to spare: other processes take turns on its core). A
 * process's involuntary context switches were tried as a busier signal:
 * on two cores two spinning nodes are preempted by any passing task, so
 * it stopped the spin that pays on an idle host. */
#ifndef WISP_SPIN_H
#define WISP_SPIN_H

#include <stdint.h>

#define WISP_SPIN_MAX_NS 50000
/* A gap this long between two polls of one spin: the process was
 * descheduled (a poll takes about a microsecond). */
#define WISP_SPIN_DESCHEDULED_NS 100000
/* How long a node that lost its CPU while spinning does not spin. */
#define WISP_SPIN_BACKOFF_NS 1000000000

struct wisp_spin {
	uint64_t gap_ns;     /* estimate: from idle to the next work */
	uint64_t last_poll;  /* of the spin under way */
	int spinning;        /* a spin is under way */
	int cpus;            /* the process may run on this many */
	uint64_t busy_until; /* no spinning before then */
};

void wisp_spin_init(struct wisp_spin *s);
/* About to poll at now, idle_ns after the last work: 1 to poll without
 * waiting (spin), 0 to block until the next event or timer. */
int wisp_spin_poll(struct wisp_spin *s, uint64_t now, uint64_t idle_ns);
/* Work came (events, or services with mail) idle_ns after the last. */
void wisp_spin_worked(struct wisp_spin *s, uint64_t idle_ns);
/* The budget a spin has now: 0 when the node would block at once. */
uint64_t wisp_spin_budget(const struct wisp_spin *s);

#endif
