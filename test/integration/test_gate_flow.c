/* test_gate_flow.c: flow control at the gate, over real TCP against one
 * net node (test/gate/flow.lua, with flow_front.lua behind its gate and 4
 * commands in flight per client). A client pipelining 200,000 frames
 * without reading gets 4 of them into the handler and a few KiB into the
 * node, while another client is served at once; released, it gets every
 * reply in order. Commands that end with no reply, with an error, with no
 * route or no service, or with no answer at all each free their slot;
 * a client that leaves with commands in flight takes them along. */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "client.h"
#include "gate_harness.h"
#include "proc.h"
#include "testlib.h"
#include "wisp_client.h"

/* Client commands, as test/gate/flow_front.lua numbers them. */
enum { ECHO = 1, HOLD, QUIET, FAIL, HANG, RELEASE, STATS };
#define MISSING 10    /* routed to a service that does not exist */
#define UNROUTED 500  /* in no route of gate.commands */

#define MAX_INFLIGHT 4     /* gate.max_inflight in flow.lua */
#define REPLY_TIMEOUT 1500 /* gate.reply_timeout there, ms */
#define READ_AHEAD (16 * 1024) /* GATE_READ_AHEAD */
#define WAIT_MS 10000   /* the bound on any one wait for the node */
#define START_MS 30000  /* for the node to start, under the sanitizers too */
#define FLOOD 200000    /* frames pipelined; fewer under the sanitizers */
#define FLOOD_SANITIZED 50000
#define FLOOD_BODY 64
#define RSS_GROWTH_KB (16 * 1024) /* what the held flood may add to RSS */

static const struct wisp_client_proto proto = {
	{ 'W', 'I', 'S', 'P' }, 1, 1, 65536,
};

static struct proc node;
static int port;
/* Under the sanitizers memory is held back on purpose and all is slower:
 * no RSS bounds, a smaller flood. */
static int sanitized;

static long rss_kb(void)
{
	long kb = proc_rss_kb(node.pid);
	CHECK(kb > 0);
	return kb;
}

/* ---- clients ---- */

static struct wisp_cli *connect_to(void)
{
	return gate_connect(&proto, port, WAIT_MS);
}

/* How the gate names c in its log. */
static void client_tag(const struct wisp_cli *c, char *buf, size_t n)
{
	gate_client_tag(buf, n, gate_cli_port(c));
}

static void send_frame(struct wisp_cli *c, uint32_t command, const char *body)
{
	CHECK_INT(gate_send(c, command, body, WAIT_MS), 0);
}

/* The next frame must be command with this body. */
static void expect_frame(struct wisp_cli *c, uint32_t command,
	const char *body)
{
	CHECK_INT(gate_expect(c, command, body, strlen(body), WAIT_MS), 0);
}

static void echo(struct wisp_cli *c, const char *text)
{
	CHECK_INT(gate_echo(c, ECHO, text, WAIT_MS), 0);
}

/* Queues count frames of command with no body, then text as an ECHO, and
 * sends them in one write. */
static void pipeline(struct wisp_cli *c, uint32_t command, int count,
	const char *text)
{
	for (int i = 0; i < count; i++)
		CHECK_INT(wisp_cli_queue(c, command, "", 0), 0);
	CHECK_INT(wisp_cli_queue(c, ECHO, text, strlen(text)), 0);
	long long deadline = proc_now_ms() + WAIT_MS;
	int r;
	while ((r = wisp_cli_flush(c)) == 0 && proc_now_ms() < deadline) {
		struct pollfd pfd = { wisp_cli_fd(c), POLLOUT, 0 };
		poll(&pfd, 1, 100);
	}
	CHECK_INT(r, 1);
}

/* What flow_front.lua counts, and the gate's counters, at one moment. */
struct stats {
	long most, quiet, in_flight, throttled, bytes_in, timed_out, failed,
		unrouted;
};

static void get_stats(struct wisp_cli *c, struct stats *s)
{
	struct wisp_client_frame f;
	char text[256] = "";
	memset(s, 0xff, sizeof *s);
	send_frame(c, STATS, "");
	if (wisp_cli_recv(c, &f, WAIT_MS) == 1 && f.command == STATS)
		snprintf(text, sizeof text, "%.*s", (int)f.size,
			(const char *)f.body);
	int n = sscanf(text, "most %ld quiet %ld in_flight %ld throttled %ld "
		"bytes_in %ld timed_out %ld handler_failed %ld unrouted %ld",
		&s->most, &s->quiet, &s->in_flight, &s->throttled, &s->bytes_in,
		&s->timed_out, &s->failed, &s->unrouted);
	CHECK_INT(n, 8);
	if (n != 8)
		fprintf(stderr, "  stats: \"%s\"\n", text);
}

/* ---- 1: a client that pipelines without reading ---- */

/* Writes what c has queued for about ms, as fast as the socket takes it. */
static void push_for(struct wisp_cli *c, int ms)
{
	long long until = proc_now_ms() + ms;
	while (proc_now_ms() < until && wisp_cli_flush(c) == 0) {
		struct pollfd pfd = { wisp_cli_fd(c), POLLOUT, 0 };
		poll(&pfd, 1, 50);
	}
}

struct flood_read {
	int next;  /* the number the next reply must carry */
	int wrong; /* replies out of order or not the flood's */
};

static void on_flood_reply(void *ud, const struct wisp_client_frame *f)
{
	struct flood_read *r = ud;
	/* the body is 8 digits, then padding that ends atoi */
	if (f->command != HOLD || f->size != FLOOD_BODY
		|| atoi((const char *)f->body) != r->next)
		r->wrong++;
	r->next++;
}

/* Reads the flood's replies while writing the rest of it: how many came,
 * all checked for their order. */
static int read_flood(struct wisp_cli *c, int n)
{
	static uint8_t buf[65536];
	struct flood_read r = { 0, 0 };
	long long deadline = proc_now_ms() + (sanitized ? 240000 : 60000);
	while (r.next < n && proc_now_ms() < deadline) {
		int flushed = wisp_cli_flush(c);
		if (flushed < 0)
			break;
		struct pollfd pfd = { wisp_cli_fd(c), POLLIN
			| (flushed ? 0 : POLLOUT), 0 };
		poll(&pfd, 1, 100);
		if (wisp_cli_read(c, buf, sizeof buf, on_flood_reply, &r) < 0)
			break;
	}
	CHECK_INT(r.wrong, 0);
	if (r.next < n)
		fprintf(stderr, "  %d replies of %d: %s\n", r.next, n,
			wisp_cli_error(c) ? wisp_cli_error(c) : "out of time");
	return r.next;
}

/* While the handler holds the flood's commands, the gate has forwarded 4
 * and read at most its read-ahead past them; the node's memory has not
 * grown with the flood; another client is answered at once. Released,
 * the flood's replies all come, in order, and no more than 4 of its
 * commands were ever in the handler at once. */
static void pipelined_flood(void)
{
	int n = sanitized ? FLOOD_SANITIZED : FLOOD;
	struct wisp_cli *flood = connect_to(), *other = connect_to();
	struct stats before, held, after;
	char body[FLOOD_BODY + 1], tag[64];
	client_tag(flood, tag, sizeof tag);
	echo(flood, "before the flood");
	get_stats(other, &before);
	long rss_before = rss_kb();
	for (int i = 0; i < n; i++) {
		snprintf(body, sizeof body, "%08d", i);
		memset(body + 8, 'x', FLOOD_BODY - 8);
		CHECK_INT(wisp_cli_queue(flood, HOLD, body, FLOOD_BODY), 0);
	}
	push_for(flood, 1000);

	get_stats(other, &held);
	CHECK_INT(held.most, MAX_INFLIGHT);
	CHECK_INT(held.in_flight, MAX_INFLIGHT + 1); /* and STATS itself */
	CHECK(held.throttled > before.throttled);
	CHECK(held.bytes_in - before.bytes_in < 2 * READ_AHEAD);
	CHECK(proc_wait_log(&node, tag, "held: gate.max_inflight (4) commands "
		"in flight", WAIT_MS));
	long long asked = proc_now_ms();
	echo(other, "answered while the flood is held");
	CHECK(proc_now_ms() - asked < 3000);
	if (!sanitized)
		CHECK(rss_kb() - rss_before < RSS_GROWTH_KB);

	send_frame(other, RELEASE, "");
	expect_frame(other, RELEASE, "released");
	CHECK_INT(read_flood(flood, n), n);
	get_stats(other, &after);
	CHECK_INT(after.most, MAX_INFLIGHT);
	if (!sanitized)
		CHECK(rss_kb() - rss_before < RSS_GROWTH_KB);
	echo(flood, "after the flood");
	wisp_cli_free(flood);
	wisp_cli_free(other);
}

/* ---- 2 to 5: every way a command ends frees its slot ---- */

/* 100 commands whose handler returns nil: each frees its slot, none
 * waits for gate.reply_timeout (25 rounds of it would outlast WAIT_MS). */
static void no_reply(void)
{
	struct wisp_cli *c = connect_to(), *probe = connect_to();
	struct stats before, after;
	char tag[64];
	client_tag(c, tag, sizeof tag);
	get_stats(probe, &before);
	pipeline(c, QUIET, 100, "after 100 quiet ones");
	expect_frame(c, ECHO, "after 100 quiet ones"); /* and nothing before */
	get_stats(probe, &after);
	CHECK_INT(after.quiet - before.quiet, 100);
	CHECK_INT(proc_log_lines(&node, tag, "failed"), 0);
	wisp_cli_free(c);
	wisp_cli_free(probe);
}

/* 20 handlers raise: their slots are freed, the gate logs the failure
 * at most once a second, and the client is answered after them. */
static void handler_errors(void)
{
	struct wisp_cli *c = connect_to(), *probe = connect_to();
	struct stats before, after;
	char tag[64];
	client_tag(c, tag, sizeof tag);
	get_stats(probe, &before);
	long long start = proc_now_ms();
	pipeline(c, FAIL, 20, "after 20 errors");
	expect_frame(c, ECHO, "after 20 errors");
	get_stats(probe, &after);
	CHECK_INT(after.failed - before.failed, 20);
	CHECK(proc_wait_log(&node, tag, "failed: ", WAIT_MS));
	CHECK(proc_log_lines(&node, tag, "flow_front failed on purpose") >= 1);
	long seconds = (proc_now_ms() - start) / 1000 + 1;
	CHECK(proc_log_lines(&node, tag, "failed: ") <= seconds);
	wisp_cli_free(c);
	wisp_cli_free(probe);
}

/* No route, or a route to no service: the command fails at once, taking
 * no slot. The two share a log line a second, so they are a second
 * apart. */
static void unrouted(void)
{
	struct wisp_cli *c = connect_to(), *probe = connect_to();
	struct stats before, after;
	char tag[64];
	client_tag(c, tag, sizeof tag);
	get_stats(probe, &before);
	pipeline(c, UNROUTED, 20, "after 20 unrouted");
	expect_frame(c, ECHO, "after 20 unrouted");
	CHECK(proc_wait_log(&node, tag, "failed: no route in gate.commands",
		WAIT_MS));
	proc_sleep_ms(1100);
	pipeline(c, MISSING, 20, "after 20 to nosuch");
	expect_frame(c, ECHO, "after 20 to nosuch");
	get_stats(probe, &after);
	CHECK_INT(after.unrouted - before.unrouted, 40);
	CHECK(proc_wait_log(&node, tag, "failed: no service named 'nosuch'",
		WAIT_MS));
	wisp_cli_free(c);
	wisp_cli_free(probe);
}

/* 8 handlers that never answer: the first 4 hold every slot until
 * gate.reply_timeout ends them, then the next 4 do; only then does the
 * echo behind them get through. */
static void never_answered(void)
{
	struct wisp_cli *c = connect_to(), *probe = connect_to();
	struct stats before, after;
	char tag[64], timed_out[64];
	client_tag(c, tag, sizeof tag);
	snprintf(timed_out, sizeof timed_out, "gate.reply_timeout (%d ms)",
		REPLY_TIMEOUT);
	get_stats(probe, &before);
	long long start = proc_now_ms();
	pipeline(c, HANG, 2 * MAX_INFLIGHT, "after 8 unanswered");
	echo(probe, "others are served meanwhile");
	expect_frame(c, ECHO, "after 8 unanswered");
	CHECK(proc_now_ms() - start >= 2 * REPLY_TIMEOUT - 100);
	get_stats(probe, &after);
	CHECK_INT(after.timed_out - before.timed_out, 2 * MAX_INFLIGHT);
	CHECK(proc_wait_log(&node, tag, timed_out, WAIT_MS));
	wisp_cli_free(c);
	wisp_cli_free(probe);
}

/* A client that leaves with its slots full and frames waiting: what it
 * had in flight goes with it, late answers are dropped, and the gate
 * serves on. */
static void gone_in_flight(void)
{
	struct wisp_cli *c = connect_to(), *probe = connect_to();
	struct stats s;
	pipeline(c, HANG, 2 * MAX_INFLIGHT, "never read");
	pipeline(c, FAIL, 20, "never read either");
	proc_sleep_ms(200);
	wisp_cli_free(c);
	proc_sleep_ms(200);
	echo(probe, "still served");
	get_stats(probe, &s);
	CHECK_INT(s.in_flight, 1); /* STATS alone */
	wisp_cli_free(probe);
}

/* ---- the node ---- */

static void start_node(const char *wisp, const char *root)
{
	char conf[512];
	snprintf(conf, sizeof conf, "%s/test/gate/flow.lua", root);
	CHECK_INT(gate_node_start(&node, wisp, conf, "main", &port, START_MS),
		0);
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: test_gate_flow WISP SOURCE_ROOT\n");
		return 2;
	}
	const char *env = getenv("WISP_SANITIZED");
	sanitized = SANITIZED || (env && strcmp(env, "1") == 0);
	proc_guard(&node, 1, 170);
	start_node(argv[1], argv[2]);
	RUN(pipelined_flood);
	RUN(no_reply);
	RUN(handler_errors);
	RUN(unrouted);
	RUN(never_answered);
	RUN(gone_in_flight);
	CHECK_INT(proc_stop_clean(&node, WAIT_MS), 0);
	if (test_failures)
		proc_dump(&node);
	proc_cleanup(&node);
	return TEST_END();
}
