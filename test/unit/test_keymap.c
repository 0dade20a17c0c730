/* test_keymap.c: the key map against a plain array model, with random
 * puts and removes that exercise the backward shift and the resizes. */
#include <stdint.h>
#include <stdlib.h>
#include "keymap.h"
#include "testlib.h"

static int drained;

static void count(uint64_t key, void *value, void *ud)
{
	(void)ud;
	drained += (uintptr_t)value == (uintptr_t)key;
}

static void basics(void)
{
	struct wisp_keymap m = { 0 };
	int a, b;
	CHECK(wisp_keymap_get(&m, 5) == NULL);
	CHECK_INT(wisp_keymap_remove(&m, 5), 0);
	wisp_keymap_put(&m, 5, &a);
	wisp_keymap_put(&m, 5, &b);
	CHECK_INT(m.count, 1);
	CHECK(wisp_keymap_get(&m, 5) == &b);
	CHECK_INT(wisp_keymap_remove(&m, 5), 1);
	CHECK(wisp_keymap_get(&m, 5) == NULL);
	wisp_keymap_free(&m);
}

static uint64_t key_of(int k)
{
	/* keys shaped like (handle << 32 | session): many collisions */
	return ((uint64_t)(k % 7 + 1) << 32) | (uint64_t)(k + 1);
}

static void random_against_model(void)
{
	enum { RANGE = 5000 };
	static char model[RANGE];
	struct wisp_keymap m = { 0 };
	srand(7);
	int wrong = 0;
	for (int step = 0; step < 400000; step++) {
		int k = rand() % RANGE;
		if (rand() % 3) {
			wisp_keymap_put(&m, key_of(k), (void *)(uintptr_t)key_of(k));
			model[k] = 1;
		} else {
			wrong += wisp_keymap_remove(&m, key_of(k)) != model[k];
			model[k] = 0;
		}
		if (step % 997 == 0)
			for (int j = 0; j < RANGE; j++)
				wrong += (wisp_keymap_get(&m, key_of(j)) != NULL) != model[j];
	}
	CHECK_INT(wrong, 0);
	size_t in_model = 0;
	for (int j = 0; j < RANGE; j++)
		in_model += (size_t)model[j];
	CHECK_INT(m.count, in_model);
	drained = 0;
	wisp_keymap_drain(&m, count, NULL);
	CHECK_INT(drained, (int)in_model);
	CHECK_INT(m.count, 0);
	wisp_keymap_free(&m);
}

static void shrinks_after_burst(void)
{
	struct wisp_keymap m = { 0 };
	for (uint64_t k = 1; k <= 100000; k++)
		wisp_keymap_put(&m, k, &m);
	size_t big = m.cap;
	for (uint64_t k = 1; k <= 100000; k++)
		wisp_keymap_remove(&m, k);
	CHECK(m.cap < big / 100);
	wisp_keymap_free(&m);
}

int main(void)
{
	RUN(basics);
	RUN(random_against_model);
	RUN(shrinks_after_burst);
	return TEST_END();
}
