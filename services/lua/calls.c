/* calls.c: the timeouts of a Lua service's calls, and their latency. A timer per call (added,
 * then cancelled when the answer comes, as nearly all do) would cost more
 * than the rest of a call; instead the waiting calls are kept in a min-heap
 * by deadline, each task knowing its slot, and one timer per service is
 * armed for the earliest deadline. Adding a call, its answer and its
 * timeout each cost O(log n), and a pass looks at no call that is not
 * due, so many calls timing out together cost what they number. */
#include <stdio.h>
#include "config.h"
#include "handle.h"
#include "histogram.h"
#include "host.h"
#include "node.h"
#include "service.h"

/* Four children a node: half the depth of a binary heap, so a sift moves
 * half as many tasks (each a cache miss), and the children compared share
 * a cache line. */
#define ARITY 4
/* The heap never shrinks below this many slots. */
#define HEAP_MIN 64
/* Calls timed out in one pass. Each runs its task while the node runs
 * nothing else; past this many, the timer comes again at once, after the
 * other services have had a turn. */
#define SWEEP_MAX 1000

/* The deadline beside the task, so that sifting compares within the
 * array and touches a task only to move it. */
struct timed_call {
	uint64_t deadline_ms;
	struct task *task;
};

static void put(struct host *h, struct timed_call c, uint32_t i)
{
	h->calls[i] = c;
	c.task->call_slot = i;
}

static void sift_up(struct host *h, struct timed_call c, uint32_t i)
{
	while (i > 0 && h->calls[(i - 1) / ARITY].deadline_ms > c.deadline_ms) {
		put(h, h->calls[(i - 1) / ARITY], i);
		i = (i - 1) / ARITY;
	}
	put(h, c, i);
}

/* The child of i due first, or 0 if i has none. */
static uint32_t first_child(const struct host *h, uint32_t i)
{
	uint32_t first = ARITY * i + 1, best = first;
	if (first >= h->ncalls)
		return 0;
	for (uint32_t k = first + 1; k < first + ARITY && k < h->ncalls; k++)
		if (h->calls[k].deadline_ms < h->calls[best].deadline_ms)
			best = k;
	return best;
}

static void sift_down(struct host *h, struct timed_call c, uint32_t i)
{
	for (uint32_t k; (k = first_child(h, i)) != 0
			&& h->calls[k].deadline_ms < c.deadline_ms; i = k)
		put(h, h->calls[k], i);
	put(h, c, i);
}

/* Doubles when full, halves under a quarter full: O(1) amortized, and the
 * memory of a burst goes once it has passed. */
static void resize(struct host *h, uint32_t cap)
{
	h->calls = wisp_realloc(h->calls, cap * sizeof(*h->calls));
	h->calls_cap = cap;
}

/* Arms the timer for the earliest deadline, unless the one armed comes no
 * later. So while calls wait, a timer is armed no later than the first
 * deadline. */
static void arm(struct host *h)
{
	if (h->ncalls == 0)
		return;
	uint64_t due = h->calls[0].deadline_ms;
	if (h->sweep_session) {
		if (h->sweep_ms <= due)
			return;
		wisp_timeout_cancel(h->ctx, h->sweep_session);
	}
	uint64_t now = wisp_now();
	h->sweep_session = wisp_new_session(h->ctx);
	h->sweep_ms = due;
	wisp_timeout(h->ctx, due > now ? (uint32_t)(due - now) : 0,
		h->sweep_session);
}

void wisp_calls_add(struct host *h, struct task *t, uint32_t ms)
{
	if (h->ncalls == h->calls_cap)
		resize(h, h->calls_cap ? h->calls_cap * 2 : HEAP_MIN);
	t->timeout_ms = ms;
	t->deadline_ms = wisp_now() + ms;
	sift_up(h, (struct timed_call){ t->deadline_ms, t }, h->ncalls++);
	arm(h);
}

void wisp_calls_remove(struct host *h, struct task *t)
{
	if (t->deadline_ms == 0)
		return;
	t->deadline_ms = 0;
	struct timed_call last = h->calls[--h->ncalls];
	uint32_t i = t->call_slot;
	if (last.task != t) {
		if (i > 0 && h->calls[(i - 1) / ARITY].deadline_ms > last.deadline_ms)
			sift_up(h, last, i);
		else
			sift_down(h, last, i);
	}
	if (h->calls_cap > HEAP_MIN && h->ncalls < h->calls_cap / 4)
		resize(h, h->calls_cap / 2);
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
		return 0; /* not the sweep's timer, or one replaced by an earlier */
	/* The session stays armed meanwhile, so that calls the timed-out tasks
	 * make (all due after now) arm nothing until the pass is over. */
	uint64_t now = wisp_now();
	for (int n = 0; n < SWEEP_MAX && h->ncalls
			&& h->calls[0].deadline_ms <= now && !h->ctx->dead; n++)
		time_out(h, h->calls[0].task);
	h->sweep_session = 0;
	arm(h); /* at once if calls past their deadline are left */
	return 1;
}

void wisp_calls_free(struct host *h)
{
	wisp_free(h->calls);
}

/* What a handle is called in the histogram: its first name when it is a
 * service of this node, else the node it lives on (written into out). */
static const char *handle_label(wisp_handle handle, char *out, size_t size)
{
	const struct wisp_context *ctx = wisp_handle_grab(handle);
	if (ctx && ctx->name_count)
		return ctx->names[0];
	const struct wisp_peer *peer = wisp_config_peer_id(wisp_node_config(),
		handle >> WISP_LOCAL_BITS);
	snprintf(out, size, "handle@%s", peer ? peer->name : "?");
	return out;
}

void wisp_calls_observe(lua_State *L, int dest, uint64_t ticks)
{
	static struct wisp_histogram *calls;
	char text[WISP_HISTOGRAM_LABEL];
	if (calls == NULL)
		calls = wisp_histogram("wisp_call_seconds", "Time from a Lua "
			"service's call to its answer or failure, by service called.",
			"service");
	const char *label = lua_type(L, dest) == LUA_TNUMBER
		? handle_label((wisp_handle)lua_tointeger(L, dest), text, sizeof(text))
		: lua_tostring(L, dest);
	wisp_histogram_observe(calls, label ? label : "?", ticks);
}
