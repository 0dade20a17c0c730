/* test_client_contract.c: the client contract at the gate, on a cluster
 * of real processes (test/contract/contract.lua): a net node with
 * services of its own, a game node, and a node that is never started.
 * Each way a request can fail gives its client an error frame naming the
 * failed command, a reason code and its text: no route, no service, a
 * node down, a handler error, an overloaded service, a SIGSTOPped node
 * (gate.reply_timeout) and a node killed with -9 while commands are in
 * flight (the harbor fails them as the link drops); a client that never
 * reads its error frames is dropped at gate.output_limit. Every type a
 * command handler can return has its answer. A login and a move
 * pipelined to two services are answered in order; where their routes
 * say ordered = false, in the order they finish. All of it twice: as a
 * Firefly client that knows nothing of request ids (whose replies are as
 * they always were), then with gate.request_ids, every answer carrying
 * its request's id. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "gate_harness.h"
#include "proc.h"
#include "testlib.h"
#include "wisp_client.h"

/* Client commands, as test/contract/contract.lua routes them. */
enum { ECHO = 1, RETURN = 2, FAIL = 4 };
enum { LOGIN = 10, MOVE = 11, LOGIN_ANY = 20, MOVE_ANY = 21 };
enum { MISSING = 30, GHOST = 31, UNROUTED = 500 };
enum { GAME_ECHO = 40, GAME_SLEEP = 41, GAME_SLEEPING = 42, BUSY = 50 };

#define PORTS 4          /* net's and game's harbors, the gate, ghost's */
#define GATE_OFFSET 2
#define REPLY_TIMEOUT 3000 /* gate.reply_timeout in contract.lua, ms */
#define WAIT_MS 10000    /* the bound on any one wait for a node */
#define START_MS 30000   /* for a node to start, under the sanitizers too */
#define BUSY_FRAMES 20
#define DEAF_FRAMES 400000 /* more error frames than the socket buffers hold */
#define SLEEPERS 3

enum { NET, GAME };

static const struct wisp_client_proto proto = {
	{ 'W', 'I', 'S', 'P' }, 1, 1, 65536,
};

static const char *wisp_exe;
static char conf[512];
static struct proc procs[2];
static int gate_port;
static int ids;                 /* this pass has gate.request_ids */
static uint32_t error_command;  /* the gate's, this pass */
static uint32_t last_id;        /* the last request id given out */

/* ---- the cluster ---- */

static int start_node(int which, const char *name, const char *ready,
	char **env)
{
	char *args[] = { (char *)wisp_exe, conf, (char *)name, NULL };
	procs[which].label = name;
	if (proc_start(&procs[which], args, env) < 0)
		return -1;
	return proc_wait_output(&procs[which], ready, START_MS) ? 0 : -1;
}

static int start_cluster(void)
{
	static char base_env[64], ids_env[32];
	int base = free_port_run(PORTS);
	if (base < 0)
		return -1;
	gate_port = base + GATE_OFFSET;
	snprintf(base_env, sizeof base_env, "WISP_PORT_BASE=%d", base);
	snprintf(ids_env, sizeof ids_env, "WISP_REQUEST_IDS=%d", ids);
	char *env[] = { base_env, ids_env, NULL };
	/* busy.lua is the net node's last service to start */
	if (start_node(NET, "net", "READY busy", env) < 0
		|| start_node(GAME, "game", "READY game", env) < 0) {
		fprintf(stderr, "the cluster did not start\n");
		return -1;
	}
	return 0;
}

/* ---- clients ---- */

static struct wisp_cli *connect_client(void)
{
	struct wisp_cli *c = wisp_cli_new(&proto);
	wisp_cli_request_ids(c, ids);
	if (wisp_cli_connect(c, "127.0.0.1", gate_port, WAIT_MS) < 0)
		fprintf(stderr, "connect: %s\n", wisp_cli_error(c));
	return c;
}

/* Queues a request, with a new id when ids are on: that id, or 0. */
static uint32_t queue(struct wisp_cli *c, uint32_t command, const char *body)
{
	uint32_t id = ids ? ++last_id : 0;
	int r = ids ? wisp_cli_queue_id(c, command, id, body, strlen(body))
		: wisp_cli_queue(c, command, body, strlen(body));
	CHECK_INT(r, 0);
	return id;
}

static void flush(struct wisp_cli *c)
{
	long long deadline = proc_now_ms() + WAIT_MS;
	int r;
	while ((r = wisp_cli_flush(c)) == 0 && proc_now_ms() < deadline)
		proc_sleep_ms(5);
	CHECK_INT(r, 1);
}

static uint32_t ask(struct wisp_cli *c, uint32_t command, const char *body)
{
	uint32_t id = queue(c, command, body);
	flush(c);
	return id;
}

/* The next frame within ms: 1, or 0 after saying why none came. */
static int next(struct wisp_cli *c, struct wisp_client_frame *f, int ms)
{
	int r = wisp_cli_recv(c, f, ms);
	CHECK_INT(r, 1);
	if (r != 1)
		fprintf(stderr, "  no frame: %s\n", wisp_cli_error(c));
	return r == 1;
}

/* The next frame is the reply body to request id of command. */
static void expect_reply(struct wisp_cli *c, uint32_t id, uint32_t command,
	const char *body)
{
	struct wisp_client_frame f;
	if (!next(c, &f, WAIT_MS))
		return;
	int same = f.command == command && f.size == strlen(body)
		&& memcmp(f.body, body, f.size) == 0;
	CHECK(same);
	if (!same)
		fprintf(stderr, "  got command %u \"%.*s\", want %u \"%s\"\n",
			f.command, (int)f.size, (const char *)f.body, command, body);
	CHECK_INT(f.request, id);
}

/* Whether f is the error frame of request id of command, with code. */
static int is_error(const struct wisp_client_frame *f, uint32_t id,
	uint32_t command, int code)
{
	struct wisp_client_error e;
	const char *text = wisp_client_error_text(code);
	return f->command == error_command && f->request == id
		&& wisp_client_error_decode(f->body, f->size, &e) == 0
		&& e.command == command && e.code == code
		&& e.text_size == strlen(text)
		&& memcmp(e.text, text, e.text_size) == 0;
}

/* The next frame, within ms, is the error frame of request id. */
static void expect_error_within(struct wisp_cli *c, uint32_t id,
	uint32_t command, int code, int ms)
{
	struct wisp_client_frame f;
	if (!next(c, &f, ms))
		return;
	int good = is_error(&f, id, command, code);
	CHECK(good);
	if (!good)
		fprintf(stderr, "  got command %u (request %u, %u bytes), want the "
			"error frame of command %u (request %u), code %d\n", f.command,
			f.request, f.size, command, id, code);
}

static void expect_error(struct wisp_cli *c, uint32_t id, uint32_t command,
	int code)
{
	expect_error_within(c, id, command, code, WAIT_MS);
}

static void echo(struct wisp_cli *c, const char *text)
{
	uint32_t id = ask(c, ECHO, text);
	expect_reply(c, id, ECHO, text);
}

/* Asks the game node until it answers: the net node links to it when
 * first asked, and may find it not up yet. */
static int game_answers(struct wisp_cli *c)
{
	long long deadline = proc_now_ms() + START_MS;
	struct wisp_client_frame f;
	while (proc_now_ms() < deadline) {
		uint32_t id = ask(c, GAME_ECHO, "up?");
		if (!next(c, &f, WAIT_MS))
			return 0;
		if (f.command == GAME_ECHO && f.request == id)
			return 1;
		proc_sleep_ms(100);
	}
	fprintf(stderr, "the game node did not answer\n");
	return 0;
}

static int game_up(void)
{
	struct wisp_cli *c = connect_client();
	int up = game_answers(c);
	wisp_cli_free(c);
	return up;
}

/* ---- the happy path, and what handlers return ---- */

/* The reply is the handler's string and nothing more: with ids off, a
 * Firefly client sees the frames it always did. */
static void happy_path(void)
{
	struct wisp_cli *c = connect_client();
	echo(c, "hello");
	echo(c, "");
	uint32_t id = ask(c, GAME_ECHO, "across the harbor");
	expect_reply(c, id, GAME_ECHO, "across the harbor");
	wisp_cli_free(c);
}

/* A string is the reply, a number its decimal text, nil none; a table,
 * a boolean, an error or a reply over gate.max_body fail the command as
 * a handler error, the log saying why in words (not "invalid option"). */
static void handler_returns(void)
{
	static const char *const good[][2] = { { "string", "a string" },
		{ "integer", "42" }, { "float", "1.5" } };
	static const char *const bad[] = { "table", "boolean", "error", "huge" };
	struct wisp_cli *c = connect_client();
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
		uint32_t id = ask(c, RETURN, good[i][0]);
		expect_reply(c, id, RETURN, good[i][1]);
	}
	ask(c, RETURN, "nil");
	echo(c, "after nil"); /* and nothing before it */
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		uint32_t id = ask(c, RETURN, bad[i]);
		expect_error(c, id, RETURN, WISP_CLIENT_ERR_HANDLER);
	}
	CHECK(proc_wait_log(&procs[NET], "the handler of command 2 returned a "
		"table: a reply is a string or a number, or nil for none", "",
		WAIT_MS));
	CHECK(proc_wait_log(&procs[NET], "a frame body of 70000 bytes is larger "
		"than gate.max_body (65536)", "", WAIT_MS));
	CHECK(!proc_log_has(&procs[NET], "invalid option", ""));
	wisp_cli_free(c);
}

/* ---- order ---- */

/* Pipelined in one write to two services: the move reaches its handler
 * once the login has ended, so it finds the client logged in. */
static void login_then_move(void)
{
	struct wisp_cli *c = connect_client();
	uint32_t login = queue(c, LOGIN, "ann");
	uint32_t move = queue(c, MOVE, "1 2");
	flush(c);
	expect_reply(c, login, LOGIN, "welcome ann");
	expect_reply(c, move, MOVE, "moved 1 2");
	wisp_cli_free(c);
}

/* The same where the routes say ordered = false: the move is handled at
 * once, before the login (which takes 300 ms) has ended. */
static void unordered_opt_out(void)
{
	struct wisp_cli *c = connect_client();
	uint32_t login = queue(c, LOGIN_ANY, "bob");
	uint32_t move = queue(c, MOVE_ANY, "1 2");
	flush(c);
	expect_reply(c, move, MOVE_ANY, "not logged in");
	expect_reply(c, login, LOGIN_ANY, "welcome bob");
	wisp_cli_free(c);
}

/* ---- failures ---- */

/* Each answered at once, in its place among the replies. */
static void failed_at_once(void)
{
	struct wisp_cli *c = connect_client();
	uint32_t id = ask(c, UNROUTED, "lost");
	expect_error(c, id, UNROUTED, WISP_CLIENT_ERR_NO_ROUTE);
	id = ask(c, MISSING, "to nobody");
	expect_error(c, id, MISSING, WISP_CLIENT_ERR_NO_SERVICE);
	id = ask(c, FAIL, "boom");
	expect_error(c, id, FAIL, WISP_CLIENT_ERR_HANDLER);
	for (int i = 0; i < 2; i++) { /* dialled and refused; then in backoff */
		id = ask(c, GHOST, "to a node never started");
		expect_error(c, id, GHOST, WISP_CLIENT_ERR_NODE_DOWN);
	}
	uint32_t a = queue(c, UNROUTED, "a"), b = queue(c, ECHO, "b");
	uint32_t d = queue(c, FAIL, "c"), e = queue(c, ECHO, "d");
	flush(c);
	expect_error(c, a, UNROUTED, WISP_CLIENT_ERR_NO_ROUTE);
	expect_reply(c, b, ECHO, "b");
	expect_error(c, d, FAIL, WISP_CLIENT_ERR_HANDLER);
	expect_reply(c, e, ECHO, "d");
	CHECK(proc_wait_log(&procs[NET], "failed: no route in gate.commands", "",
		WAIT_MS));
	wisp_cli_free(c);
}

/* Error frames are frames like any other: a client that sends requests
 * that fail and never reads is dropped once gate.output_limit fills. */
static void deaf_client_dropped(void)
{
	struct wisp_cli *c = connect_client();
	char tag[64];
	gate_client_tag(tag, sizeof tag, gate_cli_port(c));
	for (int i = 0; i < DEAF_FRAMES; i++)
		queue(c, UNROUTED, "x");
	long long deadline = proc_now_ms() + WAIT_MS;
	while (wisp_cli_flush(c) == 0 && proc_now_ms() < deadline)
		proc_sleep_ms(1);
	CHECK(proc_wait_log(&procs[NET], tag, "dropped: it does not read, and "
		"gate.output_limit", WAIT_MS));
	wisp_cli_free(c);
	c = connect_client();
	echo(c, "others are served");
	wisp_cli_free(c);
}

/* A service with room for one request: of 20 pipelined at once, those
 * that find its mailbox full are refused at once, "overloaded"; each of
 * the 20 ends with a reply or its error frame. */
static void overloaded(void)
{
	struct wisp_cli *c = connect_client();
	uint32_t id[BUSY_FRAMES];
	int answered[BUSY_FRAMES] = { 0 }, done = 0, refused = 0;
	for (int i = 0; i < BUSY_FRAMES; i++)
		id[i] = queue(c, BUSY, "");
	flush(c);
	for (int n = 0; n < BUSY_FRAMES; n++) {
		struct wisp_client_frame f;
		if (!next(c, &f, WAIT_MS))
			break;
		int i = 0;
		while (ids && i < BUSY_FRAMES && (id[i] != f.request || answered[i]))
			i++;
		CHECK(i < BUSY_FRAMES);
		if (i < BUSY_FRAMES)
			answered[i] = 1;
		if (f.command == BUSY && f.size == 4 && memcmp(f.body, "done", 4) == 0)
			done++;
		else if (is_error(&f, f.request, BUSY, WISP_CLIENT_ERR_OVERLOADED))
			refused++;
	}
	printf("overloaded: %d done, %d refused\n", done, refused);
	CHECK_INT(done + refused, BUSY_FRAMES);
	CHECK(done >= 1);
	CHECK(refused >= 1);
	echo(c, "after the busy ones");
	wisp_cli_free(c);
}

/* A stopped node answers nothing, and its link stays up: the command
 * ends at gate.reply_timeout. Once the node goes on, its late answer is
 * dropped, and it serves as before. */
static void stopped_node(void)
{
	struct wisp_cli *c = connect_client();
	CHECK(game_answers(c));
	CHECK_INT(kill(procs[GAME].pid, SIGSTOP), 0);
	long long start = proc_now_ms();
	uint32_t id = ask(c, GAME_ECHO, "while stopped");
	expect_error_within(c, id, GAME_ECHO, WISP_CLIENT_ERR_TIMEOUT,
		REPLY_TIMEOUT + WAIT_MS);
	long long took = proc_now_ms() - start;
	printf("the error frame came %lld ms after the request\n", took);
	CHECK(took >= REPLY_TIMEOUT - 100);
	CHECK_INT(kill(procs[GAME].pid, SIGCONT), 0);
	id = ask(c, GAME_ECHO, "after");
	expect_reply(c, id, GAME_ECHO, "after");
	wisp_cli_free(c);
}

/* How many GAME_SLEEP handlers the game node runs now; -1 if unknown. */
static long sleepers(struct wisp_cli *c)
{
	struct wisp_client_frame f;
	uint32_t id = ask(c, GAME_SLEEPING, "");
	if (!next(c, &f, WAIT_MS) || f.command != GAME_SLEEPING
		|| f.request != id)
		return -1;
	char text[32];
	snprintf(text, sizeof text, "%.*s", (int)f.size, (const char *)f.body);
	return atol(text);
}

/* kill -9 of the game node with a command of each client in its
 * handlers: the net node loses the link at once, and the harbor fails
 * each command on it; each client has its error frame long before
 * gate.reply_timeout. Then the node is down for new commands too. */
static void killed_node(void)
{
	struct wisp_cli *c[SLEEPERS], *probe = connect_client();
	uint32_t id[SLEEPERS];
	for (int i = 0; i < SLEEPERS; i++) {
		c[i] = connect_client();
		id[i] = ask(c[i], GAME_SLEEP, "");
	}
	long long deadline = proc_now_ms() + WAIT_MS;
	while (sleepers(probe) != SLEEPERS && proc_now_ms() < deadline)
		proc_sleep_ms(20);
	CHECK_INT(sleepers(probe), SLEEPERS);
	long long start = proc_now_ms();
	CHECK_INT(kill(procs[GAME].pid, SIGKILL), 0);
	CHECK_INT(proc_wait(&procs[GAME], WAIT_MS), 128 + SIGKILL);
	for (int i = 0; i < SLEEPERS; i++) {
		expect_error(c[i], id[i], GAME_SLEEP, WISP_CLIENT_ERR_NODE_DOWN);
		wisp_cli_free(c[i]);
	}
	printf("the error frames came %lld ms after the kill\n",
		proc_now_ms() - start);
	uint32_t after = ask(probe, GAME_ECHO, "to the dead node");
	expect_error(probe, after, GAME_ECHO, WISP_CLIENT_ERR_NODE_DOWN);
	wisp_cli_free(probe);
}

/* ---- the passes ---- */

static void run_pass(int with_ids)
{
	ids = with_ids;
	error_command = ids ? 9999 : UINT32_MAX;
	printf("-- request ids %s\n", ids ? "on" : "off");
	if (start_cluster() == 0 && game_up()) {
		RUN(happy_path);
		RUN(handler_returns);
		RUN(login_then_move);
		RUN(unordered_opt_out);
		RUN(failed_at_once);
		RUN(deaf_client_dropped);
		RUN(overloaded);
		RUN(stopped_node);
		RUN(killed_node);
	} else {
		test_failures++;
	}
	if (procs[NET].running)
		CHECK_INT(proc_stop_clean(&procs[NET], WAIT_MS), 0);
	if (procs[GAME].running)
		proc_stop(&procs[GAME], WAIT_MS);
	if (test_failures)
		for (int i = 0; i < 2; i++)
			proc_dump(&procs[i]);
	for (int i = 0; i < 2; i++)
		proc_cleanup(&procs[i]);
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: test_client_contract WISP SOURCE_ROOT\n");
		return 2;
	}
	wisp_exe = argv[1];
	snprintf(conf, sizeof conf, "%s/test/contract/contract.lua", argv[2]);
	proc_guard(procs, 2, 170);
	run_pass(0);
	if (!test_failures)
		run_pass(1);
	proc_kill_all();
	return TEST_END();
}
