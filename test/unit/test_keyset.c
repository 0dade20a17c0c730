/* test_keyset.c: the key set against a plain array model, with random
 * adds and removes that exercise the backward shift and the resizes. */
#include <stdlib.h>
#include "keyset.h"
#include "testlib.h"

static int drained;

static void count(uint64_t key, void *ud)
{
	(void)key; (void)ud;
	drained++;
}

static void basics(void)
{
	struct wisp_keyset s = { 0 };
	CHECK(!wisp_keyset_has(&s, 5));
	CHECK_INT(wisp_keyset_remove(&s, 5), 0);
	wisp_keyset_add(&s, 5);
	wisp_keyset_add(&s, 5);
	CHECK_INT(s.count, 1);
	CHECK(wisp_keyset_has(&s, 5));
	CHECK_INT(wisp_keyset_remove(&s, 5), 1);
	CHECK(!wisp_keyset_has(&s, 5));
	wisp_keyset_free(&s);
}

static void random_against_model(void)
{
	enum { RANGE = 5000 };
	static char model[RANGE];
	struct wisp_keyset s = { 0 };
	srand(7);
	int wrong = 0;
	for (int step = 0; step < 400000; step++) {
		/* keys that collide a lot: (handle << 32 | session) shapes */
		int k = rand() % RANGE;
		uint64_t key = ((uint64_t)(k % 7 + 1) << 32) | (uint64_t)(k + 1);
		if (rand() % 3) {
			wisp_keyset_add(&s, key);
			model[k] = 1;
		} else {
			wrong += wisp_keyset_remove(&s, key) != model[k];
			model[k] = 0;
		}
		if (step % 997 == 0)
			for (int j = 0; j < RANGE; j++)
				wrong += wisp_keyset_has(&s, ((uint64_t)(j % 7 + 1) << 32)
					| (uint64_t)(j + 1)) != model[j];
	}
	CHECK_INT(wrong, 0);
	size_t in_model = 0;
	for (int j = 0; j < RANGE; j++)
		in_model += (size_t)model[j];
	CHECK_INT(s.count, in_model);
	drained = 0;
	wisp_keyset_drain(&s, count, NULL);
	CHECK_INT(drained, (int)in_model);
	CHECK_INT(s.count, 0);
	wisp_keyset_free(&s);
}

static void shrinks_after_burst(void)
{
	struct wisp_keyset s = { 0 };
	for (uint64_t k = 1; k <= 100000; k++)
		wisp_keyset_add(&s, k);
	size_t big = s.cap;
	for (uint64_t k = 1; k <= 100000; k++)
		wisp_keyset_remove(&s, k);
	CHECK(s.cap < big / 100);
	wisp_keyset_free(&s);
}

int main(void)
{
	RUN(basics);
	RUN(random_against_model);
	RUN(shrinks_after_burst);
	return TEST_END();
}
