/* test_timer.c: the timing wheel against a reference model (a binary heap
 * ordered by expiry, then by the order timers were added): which timers
 * fire at each advance and in what order, across every level boundary,
 * long jumps, a clock going back, and what wisp_wheel_next promises. */
#include <stdint.h>
#include <stdlib.h>
#include "testlib.h"
#include "timer.h"

static uint64_t rng_state = 0x2545f4914f6cdd1dull;

static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* A number of up to bits random bits, so sizes spread over magnitudes. */
static uint64_t rng_bits(unsigned bits)
{
	return bits ? rng() >> (64 - bits) : 0;
}

/* Every timer's owner is derived from its session, to check both arrive. */
static wisp_handle owner_of(int session)
{
	return (wisp_handle)session * 2654435761u;
}

struct log {
	int *session;
	size_t n, cap;
};

static void log_push(struct log *l, int session)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 64;
		l->session = realloc(l->session, l->cap * sizeof *l->session);
	}
	l->session[l->n++] = session;
}

static void on_fire(void *ud, wisp_handle owner, int session)
{
	CHECK_INT(owner, owner_of(session));
	log_push(ud, session);
}

/* Checks got against want, saying only where they first differ. */
static void check_log(const struct log *got, const int *want, size_t n)
{
	CHECK_INT(got->n, n);
	for (size_t i = 0; i < got->n && i < n; i++) {
		if (got->session[i] != want[i]) {
			fprintf(stderr, "fired #%zu differs:\n", i);
			CHECK_INT(got->session[i], want[i]);
			return;
		}
	}
}

/* The reference: a binary heap of pending timers. */
struct ref {
	uint64_t expiry, seq;
	int session;
};

struct model {
	struct ref *heap;
	size_t n, cap;
	uint64_t now, seq;
};

static int ref_before(const struct ref *a, const struct ref *b)
{
	return a->expiry != b->expiry ? a->expiry < b->expiry : a->seq < b->seq;
}

static void ref_swap(struct ref *a, struct ref *b)
{
	struct ref t = *a;
	*a = *b;
	*b = t;
}

static void model_add(struct model *m, uint32_t delay, int session)
{
	if (m->n == m->cap) {
		m->cap = m->cap ? m->cap * 2 : 64;
		m->heap = realloc(m->heap, m->cap * sizeof *m->heap);
	}
	size_t i = m->n++;
	m->heap[i] = (struct ref){ m->now + delay, m->seq++, session };
	for (; i > 0 && ref_before(&m->heap[i], &m->heap[(i - 1) / 2]); i = (i - 1) / 2)
		ref_swap(&m->heap[i], &m->heap[(i - 1) / 2]);
}

static struct ref model_pop(struct model *m)
{
	struct ref top = m->heap[0];
	m->heap[0] = m->heap[--m->n];
	for (size_t i = 0;;) {
		size_t c = 2 * i + 1;
		if (c + 1 < m->n && ref_before(&m->heap[c + 1], &m->heap[c]))
			c++;
		if (c >= m->n || !ref_before(&m->heap[c], &m->heap[i]))
			return top;
		ref_swap(&m->heap[c], &m->heap[i]);
		i = c;
	}
}

/* What the wheel should fire when advanced to now, appended to out. */
static void model_advance(struct model *m, uint64_t now, struct log *out)
{
	if (now > m->now)
		m->now = now;
	while (m->n > 0 && m->heap[0].expiry <= m->now)
		log_push(out, model_pop(m).session);
}

/* A wheel and the model, driven together. */
struct rig {
	struct wisp_wheel *w;
	struct model m;
	struct log got, want;
	int session;
	size_t fired;
};

static void rig_init(struct rig *r, uint64_t now)
{
	memset(r, 0, sizeof *r);
	r->w = wisp_wheel_new(now);
	r->m.now = now;
}

static void rig_free(struct rig *r)
{
	wisp_wheel_free(r->w);
	free(r->m.heap);
	free(r->got.session);
	free(r->want.session);
}

/* The wheel may promise less than the true wait, never more. */
static void rig_check_next(struct rig *r)
{
	int next = wisp_wheel_next(r->w);
	CHECK_INT(wisp_wheel_count(r->w), r->m.n);
	if (r->m.n == 0) {
		CHECK_INT(next, -1);
		return;
	}
	uint64_t wait = r->m.heap[0].expiry - r->m.now;
	CHECK(next >= 0 && (uint64_t)next <= wait);
	if (wait == 0)
		CHECK_INT(next, 0);
}

static void rig_add(struct rig *r, uint32_t delay)
{
	int session = ++r->session;
	CHECK_INT(wisp_wheel_add(r->w, delay, owner_of(session), session), 0);
	model_add(&r->m, delay, session);
}

/* Advances both to now; returns how many timers fired. */
static size_t rig_advance(struct rig *r, uint64_t now)
{
	r->got.n = r->want.n = 0;
	wisp_wheel_advance(r->w, now, on_fire, &r->got);
	model_advance(&r->m, now, &r->want);
	check_log(&r->got, r->want.session, r->want.n);
	rig_check_next(r);
	r->fired += r->got.n;
	return r->got.n;
}

static void test_order_and_ties(void)
{
	struct rig r;
	rig_init(&r, 1000);
	static const uint32_t delays[] = { 5, 3, 5, 1, 3, 0, 5, 1 };
	for (size_t i = 0; i < sizeof delays / sizeof delays[0]; i++)
		rig_add(&r, delays[i]);
	rig_advance(&r, 1010);
	static const int want[] = { 6, 4, 8, 2, 5, 1, 3, 7 };
	check_log(&r.got, want, sizeof want / sizeof want[0]);
	rig_free(&r);
}

/* A timer added long ago still fires before one with the same expiry
 * added later, whichever level each started on. */
static void test_ties_across_levels(void)
{
	static const uint32_t delays[] = { 300, 20000, 1u << 21, 1u << 27, UINT32_MAX };
	for (size_t i = 0; i < sizeof delays / sizeof delays[0]; i++) {
		struct rig r;
		uint64_t t0 = 777, due = t0 + delays[i];
		rig_init(&r, t0);
		rig_add(&r, delays[i]);
		CHECK_INT(rig_advance(&r, due - 300), 0);
		rig_add(&r, 300);
		CHECK_INT(rig_advance(&r, due - 1), 0);
		rig_add(&r, 1);
		rig_add(&r, 1);
		rig_advance(&r, due);
		static const int want[] = { 1, 2, 3, 4 };
		check_log(&r.got, want, 4);
		rig_free(&r);
	}
}

static const uint32_t boundaries[] = {
	0, 1, 2, 255, 256, 257, 16383, 16384, 16385, (1u << 20) - 1, 1u << 20,
	(1u << 20) + 1, (1u << 26) - 1, 1u << 26, (1u << 26) + 1, 1u << 31,
	UINT32_MAX - 1, UINT32_MAX,
};
#define NBOUNDARIES (sizeof boundaries / sizeof boundaries[0])

/* Start times on and around the boundaries of every level and of the
 * 2^32 ms epoch the top level spans. */
static const uint64_t starts[] = {
	0, 1, 255, 256, 12345, (1u << 14) - 1, (1u << 26) - 1, 0xfc000123,
	(1ull << 32) - 300, (1ull << 32) - 1, (1ull << 32) + 7,
	(5ull << 32) | 0xffffff00,
};
#define NSTARTS (sizeof starts / sizeof starts[0])

/* One timer, reached in a single jump to just before it, then on time. */
static void one_timer_jump(uint64_t start, uint32_t delay)
{
	struct rig r;
	rig_init(&r, start);
	rig_add(&r, delay);
	rig_check_next(&r);
	if (delay > 0)
		CHECK_INT(rig_advance(&r, start + delay - 1), 0);
	CHECK_INT(rig_advance(&r, start + delay), 1);
	rig_free(&r);
}

/* One timer, reached in random steps of every size. */
static void one_timer_steps(uint64_t start, uint32_t delay)
{
	struct rig r;
	uint64_t due = start + delay;
	rig_init(&r, start);
	rig_add(&r, delay);
	while (r.m.now + 1 < due) {
		uint64_t t = r.m.now + rng_bits((unsigned)(rng() % 33));
		CHECK_INT(rig_advance(&r, t < due ? t : due - 1), 0);
	}
	CHECK_INT(rig_advance(&r, due), 1);
	rig_free(&r);
}

static void test_level_boundaries(void)
{
	for (size_t s = 0; s < NSTARTS; s++) {
		for (size_t d = 0; d < NBOUNDARIES; d++) {
			one_timer_jump(starts[s], boundaries[d]);
			one_timer_steps(starts[s], boundaries[d]);
		}
	}
}

/* Every boundary delay twice over in one wheel, with more added on the
 * way, so cascades carry mixed lists down. */
static void test_boundaries_together(void)
{
	for (size_t s = 0; s < NSTARTS; s++) {
		struct rig r;
		rig_init(&r, starts[s]);
		for (int round = 0; round < 2; round++)
			for (size_t d = 0; d < NBOUNDARIES; d++)
				rig_add(&r, boundaries[d]);
		while (r.m.n > 0) {
			rig_advance(&r, r.m.now + rng_bits((unsigned)(rng() % 30)));
			if (rng() % 4 == 0)
				rig_add(&r, boundaries[rng() % NBOUNDARIES]);
		}
		rig_free(&r);
	}
}

/* Ten minutes at once fires all that was due, in order. */
static void test_big_jump(void)
{
	struct rig r;
	rig_init(&r, 123456789);
	for (int i = 0; i < 5000; i++)
		rig_add(&r, (uint32_t)(rng() % 600001));
	for (int i = 0; i < 100; i++)
		rig_add(&r, 600001);
	CHECK_INT(rig_advance(&r, 123456789 + 600000), 5000);
	CHECK_INT(rig_advance(&r, 123456789 + 600001), 100);
	CHECK_INT(r.fired, 5100);
	CHECK_INT(wisp_wheel_count(r.w), 0);
	rig_free(&r);
}

static void test_clock_back(void)
{
	struct rig r;
	rig_init(&r, 1000);
	rig_add(&r, 100);
	CHECK_INT(rig_advance(&r, 1050), 0);
	CHECK_INT(rig_advance(&r, 500), 0);
	CHECK_INT(wisp_wheel_next(r.w), 50);
	rig_add(&r, 10); /* from 1050, the wheel's time, not 500 */
	CHECK_INT(rig_advance(&r, 1059), 0);
	CHECK_INT(rig_advance(&r, 1060), 1);
	CHECK_INT(r.got.session[0], 2);
	CHECK_INT(rig_advance(&r, 0), 0);
	rig_add(&r, 0); /* due now: even a step back fires it */
	CHECK_INT(rig_advance(&r, 3), 1);
	CHECK_INT(r.got.session[0], 3);
	CHECK_INT(rig_advance(&r, 1100), 1);
	CHECK_INT(r.got.session[0], 1);
	rig_free(&r);
}

static void test_delay_zero(void)
{
	struct rig r;
	rig_init(&r, 77);
	CHECK_INT(wisp_wheel_next(r.w), -1);
	rig_add(&r, 0);
	CHECK_INT(wisp_wheel_next(r.w), 0);
	CHECK_INT(wisp_wheel_count(r.w), 1);
	CHECK_INT(rig_advance(&r, 77), 1);
	CHECK_INT(wisp_wheel_next(r.w), -1);
	rig_add(&r, 5);
	rig_add(&r, 0);
	rig_add(&r, 0);
	CHECK_INT(rig_advance(&r, 77), 2);
	rig_add(&r, 0);
	rig_advance(&r, 1000);
	static const int want[] = { 5, 2 };
	check_log(&r.got, want, 2);
	rig_free(&r);
}

/* A poll loop sleeping what next says never wakes late, meets each timer
 * exactly on time and wakes only a few times on the way. */
static void poll_one(uint64_t start, uint32_t delay)
{
	struct rig r;
	uint64_t due = start + delay;
	int wakes = 0, next;
	rig_init(&r, start);
	rig_add(&r, delay);
	while ((next = wisp_wheel_next(r.w)) >= 0 && wakes++ < 100) {
		uint64_t t = r.m.now + (uint64_t)next;
		CHECK(t <= due);
		if (rig_advance(&r, t) > 0)
			CHECK(t == due);
	}
	CHECK_INT(r.fired, 1);
	CHECK(wakes <= 8);
	rig_free(&r);
}

static void test_next_poll(void)
{
	for (size_t s = 0; s < NSTARTS; s++)
		for (size_t d = 0; d < NBOUNDARIES; d++)
			poll_one(starts[s], boundaries[d]);
}

/* In the near wheel, next is exactly the wait. */
static void test_next_exact(void)
{
	struct rig r;
	rig_init(&r, 0);
	CHECK_INT(wisp_wheel_next(r.w), -1);
	rig_add(&r, 10);
	CHECK_INT(wisp_wheel_next(r.w), 10);
	rig_add(&r, 3);
	CHECK_INT(wisp_wheel_next(r.w), 3);
	rig_add(&r, 0);
	CHECK_INT(wisp_wheel_next(r.w), 0);
	rig_advance(&r, 4);
	CHECK_INT(wisp_wheel_next(r.w), 6);
	rig_free(&r);
}

/* Timers added from inside fire: later ones land in their own
 * millisecond, delay 0 ones in the one being fired. */
struct refire {
	struct wisp_wheel *w;
	struct log log;
};

static void on_refire(void *ud, wisp_handle owner, int session)
{
	struct refire *rf = ud;
	CHECK_INT(owner, owner_of(session));
	log_push(&rf->log, session);
	if (session < 100)
		wisp_wheel_add(rf->w, (uint32_t)session % 3, owner_of(session + 100),
			session + 100);
}

static void test_add_from_fire(void)
{
	struct refire rf = { wisp_wheel_new(0), { 0 } };
	wisp_wheel_add(rf.w, 5, owner_of(1), 1);
	wisp_wheel_add(rf.w, 5, owner_of(2), 2);
	wisp_wheel_add(rf.w, 6, owner_of(3), 3);
	wisp_wheel_advance(rf.w, 10, on_refire, &rf);
	static const int want[] = { 1, 2, 3, 101, 103, 102 };
	check_log(&rf.log, want, 6);
	CHECK_INT(wisp_wheel_count(rf.w), 0);
	wisp_wheel_free(rf.w);
	free(rf.log.session);
}

/* Delays spread over every level, with ties and boundary values. */
static uint32_t random_delay(void)
{
	switch (rng() % 8) {
	case 0:
		return 0;
	case 1:
		return (uint32_t)(rng() % 16);
	case 2:
		return (uint32_t)(rng() % 512);
	case 3:
		return boundaries[rng() % NBOUNDARIES];
	default:
		return (uint32_t)rng_bits((unsigned)(rng() % 33));
	}
}

/* Steps mostly short, sometimes long, now and then back in time. */
static uint64_t random_time(uint64_t now)
{
	switch (rng() % 32) {
	case 0:
		return now;
	case 1:
		return now - rng() % 1000;
	case 2:
		return now + rng_bits((unsigned)(rng() % 34));
	case 3: case 4: case 5:
		return now + rng() % (1u << 20);
	default:
		return now + rng() % 4096;
	}
}

static void test_random(void)
{
	struct rig r;
	rig_init(&r, (1ull << 32) - 5000);
	int added = 0;
	while (added < 100000) {
		if (rng() % 3 == 0) {
			rig_advance(&r, random_time(r.m.now));
			continue;
		}
		uint32_t delay = random_delay();
		for (int k = 1 + (int)(rng() % 4); k > 0 && added < 100000; k--, added++)
			rig_add(&r, rng() % 2 ? delay : random_delay());
		rig_check_next(&r);
	}
	rig_advance(&r, r.m.now + UINT32_MAX);
	CHECK_INT(r.fired, 100000);
	CHECK_INT(wisp_wheel_count(r.w), 0);
	rig_free(&r);
}

/* Pending timers on every level and recycled nodes all go with the wheel;
 * a leak shows under the address sanitizer. */
static void test_free_pending(void)
{
	struct rig r;
	rig_init(&r, 42);
	for (int i = 0; i < 3000; i++)
		rig_add(&r, random_delay());
	rig_advance(&r, 42 + 10000);
	CHECK(r.fired > 1024);
	for (size_t d = 0; d < NBOUNDARIES; d++)
		rig_add(&r, boundaries[d]);
	CHECK(wisp_wheel_count(r.w) > 0);
	rig_free(&r);
	wisp_wheel_free(wisp_wheel_new(0));
}

int main(void)
{
	RUN(test_order_and_ties);
	RUN(test_ties_across_levels);
	RUN(test_level_boundaries);
	RUN(test_boundaries_together);
	RUN(test_big_jump);
	RUN(test_clock_back);
	RUN(test_delay_zero);
	RUN(test_next_exact);
	RUN(test_next_poll);
	RUN(test_add_from_fire);
	RUN(test_random);
	RUN(test_free_pending);
	return TEST_END();
}
