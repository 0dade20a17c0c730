/* scheduler.c: the node's single loop. Each round gives every service
 * that had mail at its start one turn of up to WISP_QUOTA messages; then
 * timers advance and sockets are polled, sleeping until the next timer
 * when nothing is ready. No locks: everything runs on this one thread.
 * It keeps the watch page (watch.h) up to date for the master, and logs
 * turns that ran past handler_warn. */
#include "clock.h"
#include "handle.h"
#include "log.h"
#include "remote.h"
#include "scheduler.h"
#include "service.h"
#include "socket.h"
#include "spin.h"
#include "timer.h"
#include "trace.h"
#include "watch.h"

static struct {
	struct wisp_context *head, *tail;
	struct wisp_wheel *wheel;
	uint32_t stop_timeout_ms;
	uint64_t stop_deadline;
	int stopping;
	int exit_code;
	struct wisp_watch *watch;
	const struct wisp_module *watched; /* whose label the page holds */
	uint32_t warn_ms;    /* handler_warn; 0: never */
	uint64_t warn_ticks; /* a turn shorter than this is not even timed */
} S;

void wisp_scheduler_init(uint32_t stop_timeout_ms)
{
	wisp_clock_start();
	S.wheel = wisp_wheel_new(0);
	S.stop_timeout_ms = stop_timeout_ms;
	S.head = S.tail = NULL;
	S.stopping = 0;
	S.exit_code = 0;
	S.watch = wisp_watch_page();
	S.watched = NULL;
	wisp_scheduler_warn(0);
}

void wisp_scheduler_warn(uint32_t handler_warn_ms)
{
	S.warn_ms = handler_warn_ms;
	/* a tick lasts 2 ns at most (a TSC runs at 1 GHz or more; without
	 * one, ticks are nanoseconds), so a turn of fewer ticks than this is
	 * under the budget without converting its time */
	S.warn_ticks = handler_warn_ms ? handler_warn_ms * 500000ull : UINT64_MAX;
}

void wisp_scheduler_exit(void)
{
	wisp_wheel_free(S.wheel);
	S.wheel = NULL;
}

void wisp_schedule(struct wisp_context *ctx)
{
	if (ctx->queued)
		return;
	ctx->queued = 1;
	ctx->next_ready = NULL;
	if (S.tail)
		S.tail->next_ready = ctx;
	else
		S.head = ctx;
	S.tail = ctx;
}

static struct wisp_context *pop_ready(void)
{
	struct wisp_context *ctx = S.head;
	S.head = ctx->next_ready;
	if (S.head == NULL)
		S.tail = NULL;
	ctx->queued = 0;
	return ctx;
}

static void fire(void *ud, wisp_handle owner, int session)
{
	(void)ud;
	wisp_deliver(0, owner, WISP_MSG_TIMER, session, NULL, 0);
}

static void tick(void)
{
	wisp_wheel_advance(S.wheel, wisp_now(), fire, NULL);
}

int wisp_timeout(struct wisp_context *ctx, uint32_t ms, int session)
{
	/* count ms from now, not from the wheel's last tick, without the cost
	 * of advancing the wheel on every timeout */
	uint64_t late = wisp_now() - wisp_wheel_time(S.wheel);
	uint64_t delay = ms + late;
	return wisp_wheel_add(S.wheel, delay > UINT32_MAX ? UINT32_MAX
		: (uint32_t)delay, ctx->handle, session);
}

int wisp_timeout_cancel(struct wisp_context *ctx, int session)
{
	return wisp_wheel_cancel(S.wheel, ctx->handle, session);
}

/* The page has one writer, this thread: a relaxed load and store, not an
 * atomic add, which would be a locked instruction on every message. */
static void watch_advance(struct wisp_watch *w)
{
	atomic_store_explicit(&w->progress, atomic_load_explicit(&w->progress,
		memory_order_relaxed) + 1, memory_order_relaxed);
}

static void watch_state(enum wisp_watch_state state)
{
	atomic_store_explicit(&S.watch->state, state, memory_order_relaxed);
}

/* Which service has its turn; the label is copied only when the module
 * changes, which most turns (Lua service after Lua service) do not. */
static void watch_turn(const struct wisp_context *ctx)
{
	if (ctx->module != S.watched) {
		const char *label = wisp_service_label(ctx);
		size_t i = 0;
		for (; i + 1 < sizeof(S.watch->label) && label[i]; i++)
			S.watch->label[i] = label[i];
		S.watch->label[i] = '\0';
		S.watched = ctx->module;
	}
	atomic_store_explicit(&S.watch->handle, ctx->handle, memory_order_relaxed);
}

static void dispatch(struct wisp_context *ctx, struct wisp_message *m)
{
	int kept = 0;
	struct wisp_watch *w = S.watch;
	atomic_store_explicit(&w->type, m->type, memory_order_relaxed);
	watch_advance(w);
	wisp_trace_enter(m->trace);
	if (ctx->cb)
		kept = ctx->cb(ctx, ctx->ud, m->type, m->session, m->source,
			m->data, m->size);
	wisp_trace_leave();
	if (!kept)
		wisp_free(m->data);
	ctx->handled++;
}

/* A turn past handler_warn. A C handler cannot be interrupted, so it is
 * named once it returns. Turns are timed, not messages (a clock read per
 * message would show in every message's cost): exact when the turn had
 * one message. At most one line per handler_warn of work. */
static void warn_slow(struct wisp_context *ctx, uint32_t handled, int type,
	uint64_t ticks)
{
	unsigned long long ms = wisp_ticks_ns(ticks) / 1000000;
	if (ms < S.warn_ms || handled == 0)
		return;
	if (handled == 1)
		wisp_log(ctx, WISP_LOG_WARN, "a handler ran %llu ms (message type "
			"%d); over handler_warn (%u ms)", ms, type, S.warn_ms);
	else
		wisp_log(ctx, WISP_LOG_WARN, "%u handlers ran %llu ms in one turn "
			"(the last on message type %d); over handler_warn (%u ms)",
			handled, ms, type, S.warn_ms);
}

static void run_turn(struct wisp_context *ctx)
{
	watch_turn(ctx);
	if (ctx->dead) {
		wisp_service_retire(ctx);
		return;
	}
	uint64_t t0 = wisp_ticks();
	struct wisp_message m;
	/* only mail that was there when the turn began: a service that mails
	 * itself yields to the others between rounds */
	uint32_t quota = ctx->mailbox.count < WISP_QUOTA ? ctx->mailbox.count
		: WISP_QUOTA;
	uint32_t i = 0;
	for (; i < quota && !ctx->dead; i++) {
		if (!wisp_mailbox_pop(&ctx->mailbox, &m))
			break;
		dispatch(ctx, &m);
	}
	uint64_t spent = wisp_ticks() - t0;
	ctx->busy += spent;
	wisp_trace_turn_end(ctx->handle, t0, spent);
	if (spent > S.warn_ticks)
		warn_slow(ctx, i, i ? m.type : -1, spent);
	if (ctx->dead)
		return; /* dooming queued it again: retired on that turn */
	if (ctx->mailbox.count)
		wisp_schedule(ctx);
	else
		wisp_mailbox_shrink(&ctx->mailbox);
}

/* One turn for each service ready now; those readied meanwhile wait for
 * the next round, after timers and sockets have had their chance. */
static void run_round(void)
{
	struct wisp_context *last = S.tail;
	while (S.head) {
		struct wisp_context *ctx = pop_ready();
		int was_last = ctx == last;
		run_turn(ctx);
		if (was_last)
			break;
	}
	atomic_store_explicit(&S.watch->handle, 0, memory_order_relaxed);
}

void wisp_scheduler_drain(void)
{
	while (S.head)
		run_round();
}

void wisp_scheduler_stop(int code)
{
	if (S.stopping)
		return;
	S.stopping = 1;
	S.exit_code = code;
	S.stop_deadline = wisp_now() + S.stop_timeout_ms;
	size_t n;
	wisp_handle *list = wisp_handle_list(&n);
	for (size_t i = 0; i < n; i++) {
		struct wisp_context *ctx = wisp_handle_grab(list[i]);
		if (ctx && !ctx->lasting)
			wisp_deliver(0, list[i], WISP_MSG_EXIT, 0, NULL, 0);
	}
	wisp_free(list);
}

void wisp_shutdown(int code)
{
	wisp_scheduler_stop(code);
}

static int finished(void)
{
	if (S.head)
		return 0;
	if (wisp_service_workers() == 0 && (S.stopping || !wisp_remote_active()))
		return 1;
	return S.stopping && wisp_now() >= S.stop_deadline;
}

static int poll_timeout(void)
{
	if (S.head)
		return 0;
	int next = wisp_wheel_next(S.wheel);
	if (S.stopping) {
		uint64_t now = wisp_now();
		int left = now < S.stop_deadline ? (int)(S.stop_deadline - now) : 0;
		if (next < 0 || next > left)
			next = left;
	}
	return next;
}

/* Retires, newest first, the services that are not lasting (or, with
 * lasting set, those that are, except the logger). */
static void retire_group(int lasting)
{
	size_t n;
	wisp_handle *list = wisp_handle_list(&n);
	for (size_t i = n; i-- > 0;) {
		struct wisp_context *ctx = wisp_handle_grab(list[i]);
		if (ctx && ctx->lasting == lasting && list[i] != wisp_log_handle()) {
			wisp_service_doom(ctx);
			wisp_scheduler_drain();
		}
	}
	wisp_free(list);
}

/* Retires what is left: workers, then the lasting services such as the
 * harbor, and the logger last, to write everyone's last words. */
static void retire_all(void)
{
	retire_group(0);
	retire_group(1);
	struct wisp_context *logger = wisp_handle_grab(wisp_log_handle());
	if (logger) {
		wisp_log_flush(); /* the counts of lines held back, too */
		wisp_log(NULL, WISP_LOG_INFO, "all services stopped");
		wisp_scheduler_drain(); /* let it write what is queued */
		wisp_service_doom(logger);
		wisp_scheduler_drain();
	}
}

/* While services have mail, sockets are polled (without waiting) at most
 * this often: a poll is a system call, and a busy node may run thousands
 * of rounds a millisecond. Socket events wait at most this long. */
#define BUSY_POLL_NS 100000
/* Between work and blocking, the loop may poll without sleeping for a
 * while: spin.h says when that pays. */
struct poller {
	uint64_t last_poll_ns;
	uint64_t idle_since_ns; /* 0 while there is work */
	struct wisp_spin spin;
};

/* Work came: the idle spell it ends, if any, teaches the spin policy. */
static void note_work(struct poller *p, uint64_t now)
{
	if (p->idle_since_ns)
		wisp_spin_worked(&p->spin, now - p->idle_since_ns);
	p->idle_since_ns = 0;
}

/* Polls sockets: waits until the next timer unless spinning pays. 0, or
 * -1 when the poll failed. */
static int poll_sockets(struct poller *p, int worked)
{
	uint64_t now = wisp_clock_ns();
	if (worked)
		note_work(p, now);
	if (S.head && now - p->last_poll_ns < BUSY_POLL_NS)
		return 0;
	p->last_poll_ns = now;
	if (S.head == NULL && p->idle_since_ns == 0)
		p->idle_since_ns = now; /* an idle spell begins */
	int timeout = poll_timeout();
	uint64_t idle = p->idle_since_ns ? now - p->idle_since_ns : 0;
	if (timeout != 0 && wisp_spin_poll(&p->spin, now, idle))
		timeout = 0;
	/* a node waiting for events is idle, not stuck, however long */
	if (timeout != 0)
		watch_state(WISP_WATCH_IDLE);
	int events = wisp_net_poll(timeout);
	if (timeout != 0)
		watch_state(WISP_WATCH_RUNNING);
	if (events > 0 || S.head)
		note_work(p, wisp_clock_ns());
	return events < 0 ? -1 : 0;
}

int wisp_scheduler_run(void)
{
	struct poller p = { 0, 0, { 0 } };
	wisp_spin_init(&p.spin);
	watch_state(WISP_WATCH_RUNNING);
	for (;;) {
		watch_advance(S.watch);
		tick();
		int worked = S.head != NULL;
		run_round();
		wisp_remote_flush();
		wisp_net_flush();
		if (finished() || poll_sockets(&p, worked) < 0)
			break;
	}
	retire_all();
	watch_state(WISP_WATCH_DONE);
	return S.exit_code;
}
