/* test_timer.c: the timing wheel against a reference model (a binary heap
 * ordered by expiry, then by the order timers were added): which timers
 * fire at each advance and in what order, across every level boundary,
 * long jumps, a clock going back, cancels from anywhere (fire callbacks
 * too), what wisp_wheel_next promises, and that cancelled timers leave no
 * memory behind. */
#include <stdint.h>
#include <stdlib.h>
#include "testlib.h"
#include "timer.h"

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TEST_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define TEST_ASAN 1
#endif
#if defined(TEST_ASAN)
/* The sanitizer runtime's; gcc ships no header that declares it. */
size_t __sanitizer_get_current_allocated_bytes(void);
#elif defined(__GLIBC__)
#include <malloc.h>
#endif


/* A number of up to bits random bits, so sizes spread over magnitudes. */
static uint64_t rng_bits(unsigned bits)
{
	return bits ? test_rng() >> (64 - bits) : 0;
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

/* The reference: a binary heap of timers in the order they fire. A
 * cancelled one stays in the heap, marked, until it reaches the top. */
struct ref {
	uint64_t expiry, seq;
	int session;
};

/* Per timer added: whether it is pending, and the timer added before it
 * with the same session (-1 if none), so cancel can find the newest. */
struct track {
	long before;
	int pending;
};

struct model {
	struct ref *heap;
	size_t n, cap;
	uint64_t now, seq;
	size_t live;
	struct track *track; /* by seq */
	size_t track_cap;
	long *newest; /* by session: the last seq added with it, or -1 */
	size_t newest_cap;
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

/* Records a new timer with session (> 0) in the cancel bookkeeping. */
static void model_track(struct model *m, uint64_t seq, int session)
{
	if (seq >= m->track_cap) {
		m->track_cap = m->track_cap ? m->track_cap * 2 : 64;
		m->track = realloc(m->track, m->track_cap * sizeof *m->track);
	}
	while ((size_t)session >= m->newest_cap) {
		size_t cap = m->newest_cap ? m->newest_cap * 2 : 64;
		m->newest = realloc(m->newest, cap * sizeof *m->newest);
		for (size_t i = m->newest_cap; i < cap; i++)
			m->newest[i] = -1;
		m->newest_cap = cap;
	}
	m->track[seq] = (struct track){ m->newest[session], 1 };
	m->newest[session] = (long)seq;
	m->live++;
}

static void model_add(struct model *m, uint32_t delay, int session)
{
	if (m->n == m->cap) {
		m->cap = m->cap ? m->cap * 2 : 64;
		m->heap = realloc(m->heap, m->cap * sizeof *m->heap);
	}
	model_track(m, m->seq, session);
	size_t i = m->n++;
	m->heap[i] = (struct ref){ m->now + delay, m->seq++, session };
	for (; i > 0 && ref_before(&m->heap[i], &m->heap[(i - 1) / 2]); i = (i - 1) / 2)
		ref_swap(&m->heap[i], &m->heap[(i - 1) / 2]);
}

/* What timer.h promises: the pending timer with session added last. */
static int model_cancel(struct model *m, int session)
{
	if (session <= 0 || (size_t)session >= m->newest_cap)
		return 0;
	for (long s = m->newest[session]; s >= 0; s = m->track[s].before) {
		if (m->track[s].pending) {
			m->track[s].pending = 0;
			m->live--;
			return 1;
		}
	}
	return 0;
}

static struct ref heap_pop(struct model *m)
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

/* The next pending timer, or NULL; cancelled ones on top go. */
static const struct ref *model_top(struct model *m)
{
	while (m->n > 0 && !m->track[m->heap[0].seq].pending)
		heap_pop(m);
	return m->n > 0 ? &m->heap[0] : NULL;
}

/* Fires the next timer if it is due by limit: 1 and *out if so. */
static int model_fire(struct model *m, uint64_t limit, struct ref *out)
{
	const struct ref *top = model_top(m);
	if (top == NULL || top->expiry > limit)
		return 0;
	*out = heap_pop(m);
	m->track[out->seq].pending = 0;
	m->live--;
	if (out->expiry > m->now)
		m->now = out->expiry;
	return 1;
}

/* What the wheel should still fire when advanced to now, appended to out. */
static void model_advance(struct model *m, uint64_t now, struct log *out)
{
	struct ref due;
	if (now > m->now)
		m->now = now;
	while (model_fire(m, m->now, &due))
		log_push(out, due.session);
}

/* A wheel and the model, driven together. The model fires in step with
 * the wheel's callback, so a hook there may add and cancel on both. */
struct rig {
	struct wisp_wheel *w;
	struct model m;
	struct log got, want;
	int session;
	size_t added, cancelled, fired;
	uint64_t limit; /* what the advance under way may fire up to */
	void (*hook)(struct rig *r, int session);
	int budget; /* adds left for the hook */
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
	free(r->m.track);
	free(r->m.newest);
	free(r->got.session);
	free(r->want.session);
}

/* The wheel may promise less than the true wait, never more. */
static void rig_check_next(struct rig *r)
{
	int next = wisp_wheel_next(r->w);
	const struct ref *top = model_top(&r->m);
	CHECK_INT(wisp_wheel_count(r->w), r->m.live);
	if (top == NULL) {
		CHECK_INT(next, -1);
		return;
	}
	uint64_t wait = top->expiry - r->m.now;
	CHECK(next >= 0 && (uint64_t)next <= wait);
	if (wait == 0)
		CHECK_INT(next, 0);
}

/* Adds a timer with a session that may already be in use. */
static void rig_add_as(struct rig *r, uint32_t delay, int session)
{
	CHECK_INT(wisp_wheel_add(r->w, delay, owner_of(session), session), 0);
	model_add(&r->m, delay, session);
	r->added++;
}

static void rig_add(struct rig *r, uint32_t delay)
{
	rig_add_as(r, delay, ++r->session);
}

/* Cancels on both, which must agree; returns the wheel's answer. */
static int rig_cancel(struct rig *r, int session)
{
	int got = wisp_wheel_cancel(r->w, owner_of(session), session);
	CHECK_INT(got, model_cancel(&r->m, session));
	r->cancelled += (size_t)got;
	rig_check_next(r);
	return got;
}

/* The wheel fired session: the model fires its next due timer, which
 * check_log later compares. */
static void on_fire(void *ud, wisp_handle owner, int session)
{
	struct rig *r = ud;
	struct ref due;
	CHECK_INT(owner, owner_of(session));
	log_push(&r->got, session);
	if (model_fire(&r->m, r->limit, &due))
		log_push(&r->want, due.session);
	if (r->hook)
		r->hook(r, session);
}

/* Advances both to now; returns how many timers fired. */
static size_t rig_advance(struct rig *r, uint64_t now)
{
	r->got.n = r->want.n = 0;
	r->limit = now > r->m.now ? now : r->m.now;
	wisp_wheel_advance(r->w, now, on_fire, r);
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
		uint64_t t = r.m.now + rng_bits((unsigned)(test_rng() % 33));
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
		while (r.m.live > 0) {
			rig_advance(&r, r.m.now + rng_bits((unsigned)(test_rng() % 30)));
			if (test_rng() % 4 == 0)
				rig_add(&r, boundaries[test_rng() % NBOUNDARIES]);
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
		rig_add(&r, (uint32_t)(test_rng() % 600001));
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
	switch (test_rng() % 8) {
	case 0:
		return 0;
	case 1:
		return (uint32_t)(test_rng() % 16);
	case 2:
		return (uint32_t)(test_rng() % 512);
	case 3:
		return boundaries[test_rng() % NBOUNDARIES];
	default:
		return (uint32_t)rng_bits((unsigned)(test_rng() % 33));
	}
}

/* Steps mostly short, sometimes long, now and then back in time. */
static uint64_t random_time(uint64_t now)
{
	switch (test_rng() % 32) {
	case 0:
		return now;
	case 1:
		return now - test_rng() % 1000;
	case 2:
		return now + rng_bits((unsigned)(test_rng() % 34));
	case 3: case 4: case 5:
		return now + test_rng() % (1u << 20);
	default:
		return now + test_rng() % 4096;
	}
}

/* Sessions to cancel: mostly recent ones (likely pending), some of any
 * age (likely fired), some never used. */
static int random_session(const struct rig *r)
{
	switch (test_rng() % 8) {
	case 0:
		return -(int)(test_rng() % 3);
	case 1: case 2:
		return 1 + (int)(test_rng() % (uint64_t)(r->session + 1));
	default:
		return r->session - (int)(test_rng() % 64);
	}
}

/* Now and then a session still in use, to pin down which one cancel
 * takes. */
static void random_add(struct rig *r, uint32_t delay)
{
	int back = (int)(test_rng() % 32);
	if (test_rng() % 16 == 0 && r->session > back)
		rig_add_as(r, delay, r->session - back);
	else
		rig_add(r, delay);
}

/* From inside fire: cancel others or the one firing (or a twin of it),
 * add timers, some due in this very pass. */
static void random_hook(struct rig *r, int session)
{
	switch (test_rng() % 8) {
	case 0:
		rig_cancel(r, session);
		break;
	case 1: case 2:
		rig_cancel(r, random_session(r));
		break;
	case 3:
		if (r->budget > 0) {
			r->budget--;
			random_add(r, random_delay());
		}
		break;
	}
}

static void test_random(void)
{
	struct rig r;
	rig_init(&r, (1ull << 32) - 5000);
	r.hook = random_hook;
	r.budget = 20000;
	while (r.added < 100000) {
		switch (test_rng() % 6) {
		case 0: case 1:
			rig_advance(&r, random_time(r.m.now));
			break;
		case 2:
			for (int k = 1 + (int)(test_rng() % 4); k > 0; k--)
				rig_cancel(&r, random_session(&r));
			break;
		default: {
			uint32_t delay = random_delay();
			for (int k = 1 + (int)(test_rng() % 4); k > 0; k--)
				random_add(&r, test_rng() % 2 ? delay : random_delay());
			rig_check_next(&r);
		}
		}
	}
	CHECK(r.cancelled > 5000);
	r.hook = NULL;
	rig_advance(&r, r.m.now + UINT32_MAX);
	CHECK_INT(r.fired + r.cancelled, r.added);
	CHECK_INT(wisp_wheel_count(r.w), 0);
	rig_free(&r);
}

static void test_cancel_basic(void)
{
	struct rig r;
	rig_init(&r, 1000);
	static const uint32_t delays[] = { 10, 10, 10, 20, 30 };
	for (size_t i = 0; i < 5; i++)
		rig_add(&r, delays[i]);
	CHECK_INT(rig_cancel(&r, 2), 1);
	CHECK_INT(rig_cancel(&r, 2), 0);
	CHECK_INT(rig_cancel(&r, 99), 0);
	CHECK_INT(rig_cancel(&r, 0), 0);
	CHECK_INT(wisp_wheel_cancel(r.w, owner_of(1) + 1, 1), 0); /* owner differs */
	CHECK_INT(wisp_wheel_count(r.w), 4);
	CHECK_INT(rig_advance(&r, 1010), 2);
	static const int want[] = { 1, 3 };
	check_log(&r.got, want, 2);
	CHECK_INT(rig_cancel(&r, 1), 0); /* already fired */
	CHECK_INT(rig_cancel(&r, 5), 1);
	CHECK_INT(rig_advance(&r, 2000), 1);
	CHECK_INT(r.got.session[0], 4);
	CHECK_INT(wisp_wheel_next(r.w), -1);
	rig_free(&r);
}

static void on_fire_owner(void *ud, wisp_handle owner, int session)
{
	CHECK_INT(session, 1);
	log_push(ud, (int)owner);
}

/* Many owners use the same session: each cancel takes its own owner's. */
static void test_cancel_owners(void)
{
	struct wisp_wheel *w = wisp_wheel_new(0);
	struct log fired = { 0 };
	for (int owner = 0; owner < 2000; owner++)
		wisp_wheel_add(w, (uint32_t)owner % 7, (wisp_handle)owner, 1);
	for (int owner = 0; owner < 2000; owner += 3)
		CHECK_INT(wisp_wheel_cancel(w, (wisp_handle)owner, 1), 1);
	CHECK_INT(wisp_wheel_cancel(w, 2000, 1), 0);
	wisp_wheel_advance(w, 10, on_fire_owner, &fired);
	CHECK_INT(fired.n, 1333);
	for (size_t i = 0; i < fired.n; i++)
		CHECK(fired.session[i] % 3 != 0);
	wisp_wheel_free(w);
	free(fired.session);
}

/* Head, tail and middle of one slot's list, in the near wheel and on a
 * level; what is left still fires in order. */
static void test_cancel_in_list(void)
{
	static const uint32_t delays[] = { 7, 300, 70000, 1u << 22, 1u << 30 };
	for (size_t d = 0; d < sizeof delays / sizeof delays[0]; d++) {
		struct rig r;
		rig_init(&r, 5);
		for (int i = 0; i < 5; i++)
			rig_add(&r, delays[d]);
		CHECK_INT(rig_cancel(&r, 1), 1);
		CHECK_INT(rig_cancel(&r, 5), 1);
		CHECK_INT(rig_cancel(&r, 3), 1);
		rig_add(&r, delays[d]); /* appends after a cancelled tail */
		rig_advance(&r, 5 + (uint64_t)delays[d]);
		static const int want[] = { 2, 4, 6 };
		check_log(&r.got, want, 3);
		rig_free(&r);
	}
}

/* A slot emptied by cancels is no longer work: next looks past it. */
static void test_cancel_empties_slot(void)
{
	struct rig r;
	rig_init(&r, 0);
	for (int i = 0; i < 3; i++)
		rig_add(&r, 10);
	rig_add(&r, 20);
	rig_cancel(&r, 2);
	rig_cancel(&r, 1);
	rig_cancel(&r, 3);
	CHECK_INT(wisp_wheel_next(r.w), 20);
	rig_add(&r, 10);
	CHECK_INT(wisp_wheel_next(r.w), 10);
	CHECK_INT(rig_advance(&r, 30), 2);
	rig_free(&r);

	rig_init(&r, 0);
	for (int i = 0; i < 3; i++)
		rig_add(&r, 1000);
	rig_add(&r, 5000);
	rig_cancel(&r, 3);
	rig_cancel(&r, 1);
	rig_cancel(&r, 2);
	CHECK(wisp_wheel_next(r.w) > 1000);
	rig_cancel(&r, 4);
	CHECK_INT(wisp_wheel_next(r.w), -1);
	CHECK_INT(rig_advance(&r, 10000), 0);
	rig_free(&r);
}

/* Timers on every level, three to a slot, lose their head, middle or tail
 * (or all three), then time crosses every cascade while more go. */
static void test_cancel_upper_levels(void)
{
	for (size_t s = 0; s < NSTARTS; s++) {
		struct rig r;
		rig_init(&r, starts[s]);
		for (int round = 0; round < 3; round++)
			for (size_t d = 0; d < NBOUNDARIES; d++)
				rig_add(&r, boundaries[d]);
		for (size_t d = 0; d < NBOUNDARIES; d++) {
			int first = (int)d + 1, n = (int)NBOUNDARIES;
			if (d % 4 == 3) {
				for (int round = 0; round < 3; round++)
					CHECK_INT(rig_cancel(&r, first + round * n), 1);
			} else {
				CHECK_INT(rig_cancel(&r, first + (int)(d % 4) * n), 1);
			}
		}
		while (r.m.live > 0) {
			rig_advance(&r, r.m.now + rng_bits((unsigned)(test_rng() % 30)));
			if (test_rng() % 4 == 0)
				rig_cancel(&r, 1 + (int)(test_rng() % (uint64_t)r.session));
		}
		CHECK_INT(r.fired + r.cancelled, r.added);
		rig_free(&r);
	}
}

/* Inside fire: cancelling the timer being fired finds nothing; others go,
 * in the slot being fired, another near slot and a level. */
static void cancel_hook(struct rig *r, int session)
{
	if (session == 1) {
		CHECK_INT(rig_cancel(r, 1), 0);
		CHECK_INT(rig_cancel(r, 3), 1);
		CHECK_INT(rig_cancel(r, 5), 1);
	} else if (session == 2) {
		CHECK_INT(rig_cancel(r, 6), 1);
		CHECK_INT(rig_cancel(r, 2), 0);
		CHECK_INT(rig_cancel(r, 3), 0);
		rig_add(r, 0);
		rig_add(r, 0);
		CHECK_INT(rig_cancel(r, 7), 1);
	}
}

static void test_cancel_from_fire(void)
{
	struct rig r;
	rig_init(&r, 100);
	r.hook = cancel_hook;
	static const uint32_t delays[] = { 5, 5, 5, 5, 6, 300 };
	for (size_t i = 0; i < 6; i++)
		rig_add(&r, delays[i]);
	rig_advance(&r, 1000);
	static const int want[] = { 1, 2, 4, 8 };
	check_log(&r.got, want, 4);
	CHECK_INT(wisp_wheel_count(r.w), 0);
	rig_free(&r);
}

/* Twins (one owner and session pending twice): cancel takes the one added
 * last, also after the table has grown and shrunk in between. */
static void test_cancel_twins(void)
{
	struct rig r;
	rig_init(&r, 0);
	rig_add_as(&r, 100, 1);
	rig_add_as(&r, 200, 1);
	rig_add_as(&r, 300, 1);
	r.session = 1;
	for (int i = 0; i < 5000; i++)
		rig_add(&r, 50);
	CHECK_INT(rig_cancel(&r, 1), 1); /* the 300 */
	for (int i = 2; i <= 5001; i++)
		rig_cancel(&r, i);
	CHECK_INT(rig_cancel(&r, 1), 1); /* the 200 */
	CHECK_INT(rig_advance(&r, 150), 1);
	CHECK_INT(rig_advance(&r, 1000), 0);
	CHECK_INT(rig_cancel(&r, 1), 0);
	rig_free(&r);
}

/* Bytes the allocator holds for the program; 0 where it cannot say. */
static size_t heap_in_use(void)
{
#if defined(TEST_ASAN)
	return __sanitizer_get_current_allocated_bytes();
#elif defined(__GLIBC__)
	struct mallinfo2 mi = mallinfo2();
	return mi.uordblks + mi.hblkhd;
#else
	return 0;
#endif
}

/* Whether heap_in_use sees malloc: glibc's counts miss jemalloc's. */
static int heap_measurable(void)
{
	static void *volatile probe;
	size_t before = heap_in_use();
	probe = malloc(1 << 20);
	size_t after = heap_in_use();
	free(probe);
	return after >= before + (1 << 20);
}

/* Adds and cancels a call's timeout n times, 100 calls outstanding. */
static void churn(struct wisp_wheel *w, int n)
{
	for (int i = 0; i < n; i++) {
		wisp_wheel_add(w, 10000, 7, i);
		if (i >= 100)
			CHECK_INT(wisp_wheel_cancel(w, 7, i - 100), 1);
	}
	for (int i = n - 100; i < n; i++)
		CHECK_INT(wisp_wheel_cancel(w, 7, i), 1);
}

/* Nothing may fire: the timers that stay are over 2^31 ms out. */
static void on_fire_none(void *ud, wisp_handle owner, int session)
{
	(void)ud;
	(void)owner;
	(void)session;
	CHECK(0);
}

/* A million add+cancel cycles hold no more memory than ten thousand did,
 * and a burst's memory goes once it has been cancelled. Timers that stay
 * pending throughout sit on every level. */
static void test_cancel_memory(void)
{
	if (!heap_measurable()) {
		fprintf(stderr, "test_cancel_memory: heap not measurable, skipped\n");
		return;
	}
	struct wisp_wheel *w = wisp_wheel_new(0);
	for (size_t d = 0; d < NBOUNDARIES; d++)
		wisp_wheel_add(w, boundaries[d] | 1u << 31, 1, (int)d);
	churn(w, 10000);
	size_t before = heap_in_use();
	for (int round = 0; round < 10; round++) {
		churn(w, 100000);
		wisp_wheel_advance(w, (uint64_t)round * 100, on_fire_none, NULL);
	}
	CHECK(heap_in_use() <= before + 1024);
	CHECK_INT(wisp_wheel_count(w), NBOUNDARIES);
	for (int i = 0; i < 200000; i++)
		wisp_wheel_add(w, (uint32_t)i, 8, i);
	CHECK(heap_in_use() > before + 4000000);
	for (int i = 0; i < 200000; i++)
		CHECK_INT(wisp_wheel_cancel(w, 8, i), 1);
	CHECK(heap_in_use() <= before + 128 * 1024);
	CHECK_INT(wisp_wheel_count(w), NBOUNDARIES);
	wisp_wheel_free(w);
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
	RUN(test_cancel_basic);
	RUN(test_cancel_owners);
	RUN(test_cancel_in_list);
	RUN(test_cancel_empties_slot);
	RUN(test_cancel_upper_levels);
	RUN(test_cancel_from_fire);
	RUN(test_cancel_twins);
	RUN(test_cancel_memory);
	RUN(test_free_pending);
	return TEST_END();
}
