/* calls.c: the timeouts of a Lua service's calls. One timer per call
 * (added, then cancelled when the answer comes, as nearly all do) cost
 * more than the rest of a call; instead the waiting calls are kept in a
 * list and one timer sweeps it every SWEEP_MS while it is not empty. A
 * call times out between its timeout and SWEEP_MS after. */
#include "host.h"

#define SWEEP_MS 10

static void arm(struct host *h, uint32_t ms)
{
	h->sweep_session = wisp_new_session(h->ctx);
	wisp_timeout(h->ctx, ms < SWEEP_MS ? ms : SWEEP_MS, h->sweep_session);
}

void wisp_calls_add(struct host *h, struct task *t, uint32_t ms)
{
	t->timeout_ms = ms;
	t->deadline_ms = wisp_now() + ms;
	t->call_prev = NULL;
	t->call_next = h->calls;
	if (h->calls)
		h->calls->call_prev = t;
	h->calls = t;
	if (h->sweep_session == 0)
		arm(h, ms);
}

void wisp_calls_remove(struct host *h, struct task *t)
{
	if (t->deadline_ms == 0)
		return;
	t->deadline_ms = 0;
	if (t->call_prev)
		t->call_prev->call_next = t->call_next;
	else
		h->calls = t->call_next;
	if (t->call_next)
		t->call_next->call_prev = t->call_prev;
}

static void time_out(struct host *h, struct task *t)
{
	wisp_calls_remove(h, t);
	wisp_task_wait(h, t->wait_session, NULL); /* a late answer is dropped */
	lua_pushboolean(t->co, 0);
	lua_pushfstring(t->co, "timed out after %d ms", (int)t->timeout_ms);
	wisp_task_run(h, t, 2);
}

int wisp_calls_sweep(struct host *h, int session)
{
	if (session != h->sweep_session)
		return 0;
	h->sweep_session = 0;
	uint64_t now = wisp_now();
	/* running a timed-out task may add and remove calls: restart the walk
	 * after each one */
	for (struct task *t = h->calls; t;) {
		if (t->deadline_ms <= now) {
			time_out(h, t);
			t = h->calls;
		} else {
			t = t->call_next;
		}
	}
	if (h->calls && h->sweep_session == 0)
		arm(h, SWEEP_MS);
	return 1;
}
