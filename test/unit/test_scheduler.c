/* test_scheduler.c: the scheduler and the message model: fair turns,
 * error replies for every request that cannot be answered, exit and
 * kill, timers, and the orderly stop. */
#include <stdio.h>
#include "fixture.h"
#include "testlib.h"

/* Every message any recorder service handles, in order. */
struct record {
	wisp_handle self, source;
	int type, session;
	char text[128];
};
static struct record seen[20000];
static int seen_count;
static int released;

static int record(struct wisp_context *ctx, void *ud, int type, int session,
	wisp_handle source, void *msg, size_t sz)
{
	(void)ud;
	struct record *r = &seen[seen_count++ % 20000];
	r->self = wisp_self(ctx);
	r->source = source;
	r->type = type;
	r->session = session;
	snprintf(r->text, sizeof(r->text), "%.*s", (int)sz, msg ? (char *)msg : "");
	if (type == WISP_MSG_TEXT && sz == 4 && memcmp(msg, "exit", 4) == 0)
		wisp_exit(ctx);
	return 0;
}

static int recorder_init(void *inst, struct wisp_context *ctx, const char *a)
{
	(void)inst; (void)a;
	wisp_set_callback(ctx, NULL, record);
	return 0;
}

static void recorder_release(void *inst)
{
	(void)inst;
	released++;
}

static const struct wisp_module recorder = {
	.name = "recorder", .init = recorder_init, .release = recorder_release,
};

static wisp_handle start(void)
{
	char err[256];
	wisp_handle h = wisp_service_start("recorder", "", err, sizeof(err));
	CHECK(h != 0);
	return h;
}

static void reset(void)
{
	seen_count = 0;
	released = 0;
	fixture_up(100);
	wisp_module_builtin(&recorder);
}

static void *text(const char *s)
{
	return wisp_strdup(s);
}

/* Three busy services: none gets more than a quota of turns in a row while
 * another has mail, and each sees its own mail in order. */
static void fairness(void)
{
	reset();
	wisp_handle h[3] = { start(), start(), start() };
	enum { EACH = 1000 };
	for (int i = 0; i < EACH; i++)
		for (int s = 0; s < 3; s++)
			wisp_deliver(0, h[s], WISP_MSG_TEXT, i + 1, NULL, 0);
	wisp_scheduler_drain();
	CHECK_INT(seen_count, 3 * EACH);
	int run = 1, longest = 1, out_of_order = 0;
	int next[3] = { 1, 1, 1 };
	for (int i = 0; i < seen_count; i++) {
		if (i > 0 && seen[i].self == seen[i - 1].self)
			run++;
		else
			run = 1;
		if (run > longest)
			longest = run;
		int s = seen[i].self == h[0] ? 0 : seen[i].self == h[1] ? 1 : 2;
		out_of_order += seen[i].session != next[s]++;
	}
	CHECK_INT(longest, WISP_QUOTA);
	CHECK_INT(out_of_order, 0);
	fixture_down();
}

static void unknown_handle_gets_error_reply(void)
{
	reset();
	wisp_handle a = start();
	struct wisp_context *ctx = wisp_handle_grab(a);
	wisp_handle nobody = a + 1000;
	CHECK_INT(wisp_send(ctx, nobody, WISP_MSG_TEXT, 7, text("hi"), 2), -1);
	CHECK_INT(wisp_send(ctx, nobody, WISP_MSG_TEXT, 0, text("hi"), 2), -1);
	wisp_scheduler_drain();
	CHECK_INT(seen_count, 1); /* only the one with a session is answered */
	CHECK_INT(seen[0].type, WISP_MSG_ERROR);
	CHECK_INT(seen[0].session, 7);
	CHECK(strstr(seen[0].text, "no service") != NULL);
	/* another node, with no harbor to reach it */
	wisp_send(ctx, (5u << WISP_LOCAL_BITS) | 1, WISP_MSG_TEXT, 8, NULL, 0);
	wisp_scheduler_drain();
	CHECK_INT(seen_count, 2);
	CHECK_STR(seen[1].text, "node 5 is not reachable");
	fixture_down();
}

/* A full mailbox refuses requests at once (the caller gets "overloaded")
 * and takes answers, timers and events all the same. */
static void full_mailbox_refuses_requests_only(void)
{
	reset();
	wisp_handle a = start(), b = start();
	struct wisp_context *ca = wisp_handle_grab(a), *cb = wisp_handle_grab(b);
	CHECK_INT(wisp_register(cb, "busy"), 0);
	CHECK_INT(wisp_mailbox_limit(cb, 3, 1 << 20), 0);
	CHECK_INT(wisp_mailbox_limit(cb, 0, 1), -1);
	for (int i = 1; i <= 3; i++)
		CHECK_INT(wisp_send(ca, b, WISP_MSG_TEXT, 0, text("q"), 1), 0);
	CHECK_INT(wisp_send(ca, b, WISP_MSG_TEXT, 9, text("q"), 1), -1);
	CHECK_STR(wisp_send_refusal(), "overloaded");
	CHECK_INT(wisp_send(ca, b, WISP_MSG_RESPONSE, 4, text("r"), 1), 0);
	CHECK_INT(wisp_send(ca, b, WISP_MSG_ERROR, 5, text("e"), 1), 0);
	CHECK_INT(wisp_deliver(0, b, WISP_MSG_TIMER, 6, NULL, 0), 0);
	CHECK_INT(cb->mailbox.count, 6);
	CHECK_INT(cb->refused, 1);
	/* the bytes limit: 10 bytes fit, 11 do not */
	CHECK_INT(wisp_mailbox_limit(cb, 100, 10 + cb->mailbox.bytes), 0);
	CHECK_INT(wisp_send(ca, b, WISP_MSG_TEXT, 0, wisp_malloc(11), 11), -1);
	CHECK_INT(wisp_send(ca, b, WISP_MSG_TEXT, 0, wisp_malloc(10), 10), 0);
	wisp_scheduler_drain();
	int errors = 0;
	for (int i = 0; i < seen_count; i++)
		if (seen[i].self == a && seen[i].type == WISP_MSG_ERROR) {
			errors++;
			CHECK_INT(seen[i].session, 9);
			CHECK(strstr(seen[i].text, "service busy (:") != NULL);
			CHECK(strstr(seen[i].text, ") is overloaded") != NULL);
		}
	CHECK_INT(errors, 1);
	CHECK_INT(cb->mailbox.bytes, 0);
	fixture_down();
}

static void unknown_name_gets_error_reply(void)
{
	reset();
	struct wisp_context *ctx = wisp_handle_grab(start());
	CHECK_INT(wisp_send_name(ctx, "nosuch", WISP_MSG_TEXT, 3, text("x"), 1), -1);
	wisp_scheduler_drain();
	CHECK_INT(seen_count, 1);
	CHECK_INT(seen[0].session, 3);
	CHECK_STR(seen[0].text, "no service named 'nosuch'");
	fixture_down();
}

static void send_by_name(void)
{
	reset();
	wisp_handle a = start(), b = start();
	CHECK_INT(wisp_register(wisp_handle_grab(b), "chat"), 0);
	CHECK_INT(wisp_send_name(wisp_handle_grab(a), "chat", WISP_MSG_TEXT, 0,
		text("hello"), 5), 0);
	wisp_scheduler_drain();
	CHECK_INT(seen_count, 1);
	CHECK_INT(seen[0].self, b);
	CHECK_INT(seen[0].source, a);
	CHECK_STR(seen[0].text, "hello");
	fixture_down();
}

/* A service that exits with requests still queued: each caller hears. */
static void exit_answers_pending_requests(void)
{
	reset();
	wisp_handle caller = start(), doomed = start();
	struct wisp_context *c = wisp_handle_grab(caller);
	wisp_send(c, doomed, WISP_MSG_TEXT, 0, text("exit"), 4);
	wisp_send(c, doomed, WISP_MSG_TEXT, 11, text("a"), 1);
	wisp_send(c, doomed, WISP_MSG_TEXT, 12, text("b"), 1);
	wisp_send(c, doomed, WISP_MSG_TEXT, 0, text("c"), 1);
	wisp_scheduler_drain();
	CHECK_INT(released, 1);
	CHECK(wisp_handle_grab(doomed) == NULL);
	int errors = 0;
	for (int i = 0; i < seen_count; i++)
		if (seen[i].self == caller && seen[i].type == WISP_MSG_ERROR) {
			errors++;
			CHECK(strstr(seen[i].text, "exited") != NULL);
		}
	CHECK_INT(errors, 2);
	/* and a message sent after the exit is answered too */
	wisp_send(c, doomed, WISP_MSG_TEXT, 13, NULL, 0);
	wisp_scheduler_drain();
	CHECK_INT(seen[seen_count - 1].session, 13);
	CHECK_INT(seen[seen_count - 1].type, WISP_MSG_ERROR);
	fixture_down();
}

static void kill_runs_release_once(void)
{
	reset();
	wisp_handle a = start();
	CHECK_INT(wisp_kill(NULL, a), 0);
	CHECK_INT(wisp_kill(NULL, a), -1);
	wisp_scheduler_drain();
	CHECK_INT(released, 1);
	CHECK_INT(wisp_handle_count(), 0);
	fixture_down();
	CHECK_INT(released, 1);
}

static int fail_init(void *inst, struct wisp_context *ctx, const char *args)
{
	(void)inst;
	return wisp_fail(ctx, "bad args '%s'", args);
}

static const struct wisp_module failing = {
	.name = "failing", .init = fail_init, .release = recorder_release,
};

static void failed_init_reports_and_releases(void)
{
	reset();
	wisp_module_builtin(&failing);
	char err[256];
	CHECK_INT(wisp_service_start("failing", "x", err, sizeof(err)), 0);
	CHECK_STR(err, "bad args 'x'");
	wisp_scheduler_drain();
	CHECK_INT(released, 1);
	CHECK_INT(wisp_service_start("nosuch", "", err, sizeof(err)), 0);
	CHECK(strstr(err, "module 'nosuch' not found") != NULL);
	fixture_down();
}

static void sessions_are_positive(void)
{
	reset();
	struct wisp_context *ctx = wisp_handle_grab(start());
	CHECK_INT(wisp_new_session(ctx), 1);
	CHECK_INT(wisp_new_session(ctx), 2);
	ctx->session = 0x7ffffffe;
	CHECK_INT(wisp_new_session(ctx), 0x7fffffff);
	CHECK_INT(wisp_new_session(ctx), 1);
	fixture_down();
}

/* A timer message arrives with its session, no sooner than asked. */
static int timer_cb(struct wisp_context *ctx, void *ud, int type, int session,
	wisp_handle source, void *msg, size_t sz)
{
	uint64_t *fired_at = ud;
	record(ctx, NULL, type, session, source, msg, sz);
	if (type == WISP_MSG_TIMER && session == 2) {
		*fired_at = wisp_now();
		wisp_exit(ctx);
	}
	return 0;
}

static uint64_t fired_at;

static int timer_init(void *inst, struct wisp_context *ctx, const char *a)
{
	(void)inst; (void)a;
	wisp_set_callback(ctx, &fired_at, timer_cb);
	wisp_timeout(ctx, 50, 2);
	wisp_timeout(ctx, 10, 1);
	wisp_timeout(ctx, 20, 3);
	CHECK_INT(wisp_timeout_cancel(ctx, 3), 1); /* never arrives */
	CHECK_INT(wisp_timeout_cancel(ctx, 3), 0);
	return 0;
}

static const struct wisp_module timed = { .name = "timed", .init = timer_init };

static void timers_arrive_as_messages(void)
{
	reset();
	wisp_module_builtin(&timed);
	char err[256];
	uint64_t t0 = wisp_now();
	CHECK(wisp_service_start("timed", "", err, sizeof(err)) != 0);
	CHECK_INT(wisp_scheduler_run(), 0); /* ends when the service exits */
	CHECK_INT(seen_count, 2);
	CHECK_INT(seen[0].type, WISP_MSG_TIMER);
	CHECK_INT(seen[0].session, 1);
	CHECK_INT(seen[1].session, 2);
	CHECK(fired_at - t0 >= 50);
	fixture_down();
}

/* The stop sends WISP_MSG_EXIT to everyone; a service that ignores it is
 * retired anyway once the stop timeout has passed. */
static void stop_reaches_everyone(void)
{
	reset();
	start();
	start();
	uint64_t t0 = wisp_now();
	wisp_scheduler_stop(3);
	CHECK_INT(wisp_scheduler_run(), 3);
	CHECK_INT(seen_count, 2);
	CHECK_INT(seen[0].type, WISP_MSG_EXIT);
	CHECK_INT(seen[1].type, WISP_MSG_EXIT);
	CHECK_INT(released, 2);
	CHECK(wisp_now() - t0 >= 100);
	CHECK_INT(wisp_handle_count(), 0);
	fixture_down();
}

int main(void)
{
	RUN(fairness);
	RUN(unknown_handle_gets_error_reply);
	RUN(unknown_name_gets_error_reply);
	RUN(full_mailbox_refuses_requests_only);
	RUN(send_by_name);
	RUN(exit_answers_pending_requests);
	RUN(kill_runs_release_once);
	RUN(failed_init_reports_and_releases);
	RUN(sessions_are_positive);
	RUN(timers_arrive_as_messages);
	RUN(stop_reaches_everyone);
	return TEST_END();
}
