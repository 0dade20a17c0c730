/* test_mailbox.c: the mailbox ring keeps order through growth and
 * wrap-around, and gives memory back after a burst. */
#include "mailbox.h"
#include "testlib.h"

static struct wisp_message msg(int i)
{
	struct wisp_message m = { .source = 1, .session = i, .type = 0 };
	return m;
}

static void fifo_through_growth_and_wrap(void)
{
	struct wisp_mailbox mb = { 0 };
	struct wisp_message m = { 0 };
	int next_in = 0, next_out = 0, wrong = 0;
	/* push 3, pop 2, repeatedly: the ring wraps while it grows */
	for (int round = 0; round < 5000; round++) {
		for (int i = 0; i < 3; i++) {
			struct wisp_message in = msg(next_in++);
			wisp_mailbox_push(&mb, &in);
		}
		for (int i = 0; i < 2; i++) {
			CHECK(wisp_mailbox_pop(&mb, &m));
			wrong += m.session != next_out++;
		}
	}
	while (wisp_mailbox_pop(&mb, &m))
		wrong += m.session != next_out++;
	CHECK_INT(wrong, 0);
	CHECK_INT(next_out, next_in);
	CHECK_INT(mb.count, 0);
	wisp_mailbox_free(&mb);
}

static void shrinks_after_burst(void)
{
	struct wisp_mailbox mb = { 0 };
	struct wisp_message m = msg(1);
	for (int i = 0; i < 100000; i++)
		wisp_mailbox_push(&mb, &m);
	CHECK(mb.cap >= 100000);
	wisp_mailbox_shrink(&mb); /* not empty: keeps its ring */
	CHECK(mb.cap >= 100000);
	while (wisp_mailbox_pop(&mb, &m))
		;
	wisp_mailbox_shrink(&mb); /* one drained turn is not enough */
	CHECK(mb.cap >= 100000);
	for (int i = 0; i < 100; i++)
		wisp_mailbox_shrink(&mb);
	CHECK_INT(mb.cap, 0);
	CHECK(mb.ring == NULL);
	wisp_mailbox_push(&mb, &m); /* and works again */
	CHECK(wisp_mailbox_pop(&mb, &m));
	CHECK(!wisp_mailbox_pop(&mb, &m));
	wisp_mailbox_free(&mb);
}

int main(void)
{
	RUN(fifo_through_growth_and_wrap);
	RUN(shrinks_after_burst);
	return TEST_END();
}
