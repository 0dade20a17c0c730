/* test_handle.c: handles carry the node id, map back to their service,
 * are not reused soon, and scale to a million live services. */
#include <stdint.h>
#include <stdlib.h>
#include "handle.h"
#include "testlib.h"

/* The table stores pointers it never dereferences: fake ones will do. */
static struct wisp_context *fake(uintptr_t i)
{
	return (struct wisp_context *)(i * 16 + 16);
}

static void node_id_in_high_bits(void)
{
	wisp_handles_init(1023);
	wisp_handle h = wisp_handle_add(fake(1));
	CHECK_INT(WISP_HANDLE_NODE(h), 1023);
	CHECK((h & WISP_LOCAL_MASK) != 0);
	CHECK(wisp_handle_grab(h) == fake(1));
	CHECK(wisp_handle_grab(h ^ (1u << WISP_LOCAL_BITS)) == NULL);
	CHECK_INT(wisp_node_id(), 1023);
	wisp_handles_exit();
}

static void remove_forgets(void)
{
	wisp_handles_init(1);
	wisp_handle a = wisp_handle_add(fake(1));
	wisp_handle b = wisp_handle_add(fake(2));
	CHECK(a != b);
	wisp_handle_remove(a);
	CHECK(wisp_handle_grab(a) == NULL);
	CHECK(wisp_handle_grab(b) == fake(2));
	CHECK_INT(wisp_handle_count(), 1);
	wisp_handle_remove(a); /* twice is harmless */
	CHECK_INT(wisp_handle_count(), 1);
	CHECK(wisp_handle_grab(0) == NULL);
	wisp_handles_exit();
}

/* Add and free one service at a time: every handle in a long run is new. */
static void freed_handles_not_reused_soon(void)
{
	wisp_handles_init(2);
	enum { RUNS = 1000000 };
	uint8_t *seen = calloc(WISP_LOCAL_MASK + 1, 1);
	int repeats = 0;
	for (int i = 0; i < RUNS; i++) {
		wisp_handle h = wisp_handle_add(fake(1));
		repeats += seen[h & WISP_LOCAL_MASK]++ != 0;
		wisp_handle_remove(h);
	}
	CHECK_INT(repeats, 0);
	free(seen);
	wisp_handles_exit();
}

static void a_million_live_services(void)
{
	enum { LIVE = 1000000 };
	wisp_handles_init(7);
	wisp_handle *hs = malloc(LIVE * sizeof(*hs));
	for (uintptr_t i = 0; i < LIVE; i++)
		hs[i] = wisp_handle_add(fake(i));
	CHECK_INT(wisp_handle_count(), LIVE);
	int wrong = 0;
	for (uintptr_t i = 0; i < LIVE; i++)
		wrong += hs[i] == 0 || wisp_handle_grab(hs[i]) != fake(i);
	CHECK_INT(wrong, 0);
	size_t n;
	wisp_handle *list = wisp_handle_list(&n);
	CHECK_INT(n, LIVE);
	int unordered = 0;
	for (size_t i = 1; i < n; i++)
		unordered += list[i - 1] >= list[i];
	CHECK_INT(unordered, 0);
	wisp_free(list);
	free(hs);
	wisp_handles_exit();
}

int main(void)
{
	RUN(node_id_in_high_bits);
	RUN(remove_forgets);
	RUN(freed_handles_not_reused_soon);
	RUN(a_million_live_services);
	return TEST_END();
}
