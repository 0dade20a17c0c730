/* test_spin.c: the spin policy: the budget follows how soon work comes
 * back, and a node spins not at all on one CPU, nor for a while after it
 * lost its CPU in a spin: briefly after a lone loss, longer and longer
 * while losses keep coming. */
#include "spin.h"
#include "testlib.h"

#define US 1000ull

static int busy_host;

static int host_busy(int cpus)
{
	(void)cpus;
	return busy_host;
}

/* A policy for a process that may run on two CPUs, on a quiet host. */
static void fresh(struct wisp_spin *s)
{
	wisp_spin_init(s);
	s->cpus = 2;
	s->host_busy = host_busy;
	busy_host = 0;
}

static void learn(struct wisp_spin *s, uint64_t gap, int times)
{
	for (int i = 0; i < times; i++)
		wisp_spin_worked(s, gap);
}

static void budget_follows_the_gap(void)
{
	struct wisp_spin s;
	fresh(&s);
	CHECK_INT(wisp_spin_budget(&s), 0); /* nothing learned yet */
	learn(&s, 10 * US, 40);
	CHECK(wisp_spin_budget(&s) >= 20 * US);
	CHECK(wisp_spin_budget(&s) <= 22 * US);
	CHECK_INT(wisp_spin_poll(&s, 1000 * US, 5 * US), 1);
	CHECK_INT(wisp_spin_poll(&s, 1001 * US, 30 * US), 0);
	learn(&s, 40 * US, 40); /* twice that is past the most */
	CHECK_INT(wisp_spin_budget(&s), WISP_SPIN_MAX_NS);
	learn(&s, 5000 * US, 40); /* work comes back slowly: block */
	CHECK_INT(wisp_spin_budget(&s), 0);
	CHECK_INT(wisp_spin_poll(&s, 2000 * US, 1 * US), 0);
	learn(&s, 10 * US, 40); /* and quickly again */
	CHECK_INT(wisp_spin_poll(&s, 3000 * US, 1 * US), 1);
}

static void one_long_idle_spell_does_not_stop_spinning(void)
{
	struct wisp_spin s;
	fresh(&s);
	learn(&s, 10 * US, 40);
	learn(&s, 10000000 * US, 1);
	CHECK(wisp_spin_budget(&s) > 0);
}

static void losing_the_cpu_in_a_spin_stops_it(void)
{
	struct wisp_spin s;
	fresh(&s);
	learn(&s, 10 * US, 40);
	CHECK_INT(wisp_spin_poll(&s, 100 * US, 1 * US), 1);
	CHECK_INT(wisp_spin_poll(&s, 102 * US, 3 * US), 1);
	/* the next poll of the same spin comes 500 us later */
	CHECK_INT(wisp_spin_poll(&s, 602 * US, 4 * US), 0);
	CHECK_INT(s.busy_until, 602 * US + WISP_SPIN_BACKOFF_MIN_NS);
	CHECK_INT(wisp_spin_poll(&s, 603 * US, 1 * US), 0);
	/* and spins again once the back-off is over */
	CHECK_INT(wisp_spin_poll(&s, s.busy_until, 1 * US), 1);
}

/* Loses its CPU in a spin that begins at now; the back-off it gets. */
static uint64_t lose_cpu_at(struct wisp_spin *s, uint64_t now)
{
	CHECK_INT(wisp_spin_poll(s, now, 1 * US), 1);
	CHECK_INT(wisp_spin_poll(s, now + 500 * US, 2 * US), 0);
	return s->busy_until - (now + 500 * US);
}

static void losses_that_keep_coming_back_off_longer(void)
{
	struct wisp_spin s;
	fresh(&s);
	learn(&s, 10 * US, 40);
	uint64_t now = 1000 * US, ns = WISP_SPIN_BACKOFF_MIN_NS;
	CHECK_INT(lose_cpu_at(&s, now), ns);
	for (int i = 0; i < 12; i++) { /* each soon after the last back-off */
		now = s.busy_until + 10 * US;
		uint64_t want = ns * 2 < WISP_SPIN_BACKOFF_MAX_NS ? ns * 2
			: WISP_SPIN_BACKOFF_MAX_NS;
		ns = lose_cpu_at(&s, now);
		CHECK_INT(ns, want);
	}
	CHECK_INT(ns, WISP_SPIN_BACKOFF_MAX_NS);
	/* a loss long after the last back-off ended: a lone one again */
	now = s.busy_until + 3 * WISP_SPIN_BACKOFF_MAX_NS;
	CHECK_INT(lose_cpu_at(&s, now), WISP_SPIN_BACKOFF_MIN_NS);
}

static void a_busy_host_backs_off_longest_at_once(void)
{
	struct wisp_spin s;
	fresh(&s);
	learn(&s, 10 * US, 40);
	busy_host = 1;
	CHECK_INT(lose_cpu_at(&s, 1000 * US), WISP_SPIN_BACKOFF_MAX_NS);
}

/* The default reads /proc/loadavg: no host has fewer than 0 runnable
 * tasks, and this one has this process. */
static void host_busy_reads_the_runnable_count(void)
{
	CHECK_INT(wisp_spin_host_busy(-1), 1);
	CHECK_INT(wisp_spin_host_busy(1 << 30), 0);
}

static void one_cpu_never_spins(void)
{
	struct wisp_spin s;
	fresh(&s);
	s.cpus = 1;
	learn(&s, 10 * US, 40);
	CHECK_INT(wisp_spin_budget(&s), 0);
	CHECK_INT(wisp_spin_poll(&s, 100 * US, 1 * US), 0);
}

int main(void)
{
	RUN(budget_follows_the_gap);
	RUN(one_long_idle_spell_does_not_stop_spinning);
	RUN(losing_the_cpu_in_a_spin_stops_it);
	RUN(losses_that_keep_coming_back_off_longer);
	RUN(a_busy_host_backs_off_longest_at_once);
	RUN(host_busy_reads_the_runnable_count);
	RUN(one_cpu_never_spins);
	return TEST_END();
}
