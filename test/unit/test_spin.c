/* test_spin.c: the spin policy: the budget follows how soon work comes
 * back, and a node spins not at all on one CPU, nor for a while after it
 * lost its CPU in a spin. */
#include "spin.h"
#include "testlib.h"

#define US 1000ull

/* A policy for a process that may run on two CPUs. */
static void fresh(struct wisp_spin *s)
{
	wisp_spin_init(s);
	s->cpus = 2;
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
	CHECK(s.busy_until >= 602 * US + WISP_SPIN_BACKOFF_NS);
	/* and spins again once the back-off is over */
	CHECK_INT(wisp_spin_poll(&s, s.busy_until, 1 * US), 1);
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
	RUN(one_cpu_never_spins);
	return TEST_END();
}
