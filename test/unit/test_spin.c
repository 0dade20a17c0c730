/* test_spin.c: the spin policy: a node spins while work comes back
 * quickly, long enough to outlast a wake-up, not at all on one CPU, nor
 * for a while after it lost its CPU in a spin: briefly after a lone loss,
 * longer and longer while losses keep coming, longest when the host looked
 * busy at two losses in a row. Idle spells slept through do not keep a
 * node from trying to spin again. */
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

/* times idle spells of gap each, spun through when the policy says so */
static void learn(struct wisp_spin *s, uint64_t gap, int times)
{
	static uint64_t now = 10000000 * US;
	for (int i = 0; i < times; i++) {
		now += 1000 * US;
		wisp_spin_poll(s, now, 0);
		wisp_spin_worked(s, gap);
	}
}

static void budget_follows_the_gap(void)
{
	struct wisp_spin s;
	fresh(&s);
	CHECK_INT(wisp_spin_budget(&s), 0); /* nothing learned yet */
	learn(&s, 10 * US, 40);
	CHECK_INT(wisp_spin_budget(&s), WISP_SPIN_MAX_NS);
	CHECK_INT(wisp_spin_poll(&s, 1000 * US, 5 * US), 1);
	/* a wake-up late still finds it spinning */
	CHECK_INT(wisp_spin_poll(&s, 1001 * US, 150 * US), 1);
	CHECK_INT(wisp_spin_poll(&s, 1002 * US, WISP_SPIN_MAX_NS), 0);
	learn(&s, 5000 * US, 40); /* spins that found no work: block */
	CHECK_INT(wisp_spin_budget(&s), 0);
	CHECK_INT(wisp_spin_poll(&s, 2000 * US, 1 * US), 0);
	learn(&s, 10 * US, 40); /* and quickly again */
	CHECK_INT(wisp_spin_poll(&s, 3000 * US, 1 * US), 1);
}

/* Two nodes calling each other both asleep: each answer comes a wake-up
 * late, so each idle spell is long, and sleeping through it must not
 * teach the node to keep sleeping. */
static void slept_spells_do_not_stop_spinning_for_good(void)
{
	struct wisp_spin s;
	fresh(&s);
	learn(&s, 5000 * US, 40);
	CHECK_INT(wisp_spin_budget(&s), 0);
	int slept = 0;
	while (wisp_spin_budget(&s) == 0 && slept < 1000) {
		learn(&s, 90 * US, 1); /* not spun: the budget is 0 */
		slept++;
	}
	CHECK(slept > 1); /* a slow node does not spin each time */
	CHECK(slept < 40);
	/* the retry found work a wake-up late; the quick answers that follow
	 * bring the spin back, slept through or not */
	learn(&s, 90 * US, 1);
	learn(&s, 10 * US, 40);
	CHECK_INT(wisp_spin_budget(&s), WISP_SPIN_MAX_NS);
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

static void a_host_busy_at_two_losses_backs_off_longest(void)
{
	struct wisp_spin s;
	fresh(&s);
	learn(&s, 10 * US, 40);
	busy_host = 1;
	CHECK_INT(lose_cpu_at(&s, 1000 * US), WISP_SPIN_BACKOFF_MIN_NS);
	CHECK_INT(lose_cpu_at(&s, s.busy_until + 20000 * US),
		WISP_SPIN_BACKOFF_MAX_NS);
}

/* The task that took the CPU, or a burst of short ones, still runnable
 * when the node looks: one busy look is not a busy host. */
static void a_lone_busy_look_backs_off_briefly(void)
{
	struct wisp_spin s;
	fresh(&s);
	learn(&s, 10 * US, 40);
	busy_host = 1;
	CHECK_INT(lose_cpu_at(&s, 1000 * US), WISP_SPIN_BACKOFF_MIN_NS);
	/* busy again, but long after */
	uint64_t later = 1000 * US + 2 * WISP_SPIN_BUSY_WINDOW_NS;
	CHECK_INT(lose_cpu_at(&s, later), WISP_SPIN_BACKOFF_MIN_NS);
	/* busy, then quiet at the next loss soon after: only doubled */
	busy_host = 0;
	CHECK_INT(lose_cpu_at(&s, s.busy_until + 10 * US),
		2 * WISP_SPIN_BACKOFF_MIN_NS);
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
	RUN(slept_spells_do_not_stop_spinning_for_good);
	RUN(losing_the_cpu_in_a_spin_stops_it);
	RUN(losses_that_keep_coming_back_off_longer);
	RUN(a_host_busy_at_two_losses_backs_off_longest);
	RUN(a_lone_busy_look_backs_off_briefly);
	RUN(host_busy_reads_the_runnable_count);
	RUN(one_cpu_never_spins);
	return TEST_END();
}
