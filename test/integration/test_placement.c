/* test_placement.c: placing services across game nodes, on a real
 * cluster on loopback (test/placement/cluster.lua): a root, a net node
 * running the Lua cases (test/placement/cases.lua) and game1..game3. The
 * cases start services on other nodes and pick nodes for keys and by
 * load; this driver plays the world around them, following the markers
 * the net node logs: it kills game3 with -9 and starts it again, and,
 * as game clients, uses the gate's route to board@game2 while the board
 * starts again as a new service, and while game2 is killed with -9 and
 * started again: the gate must say that the node is down, and the route
 * must work again once the board or game2 is back. Every wait is bounded
 * and every node is stopped (or killed) at the end. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "proc.h"
#include "testlib.h"
#include "wisp_client.h"

#define NODE_PORTS 7  /* root, net, game1..game4's harbors; the gate */
#define GATE_OFFSET 6
#define NET_CASES 8   /* the cases of cases.lua */
#define MAX_PROCS 8
#define START_MS 20000
#define MARKER_MS 60000
#define FRAME_MS 5000
#define BACK_MS 30000 /* game2 back up and serving through the route */
#define COMMANDS 1000
#define BOARD 1       /* a command routed to board@game2 */
#define RESTART 9     /* one that has the board start again */

static const struct wisp_client_proto proto = {
	.magic = { 'W', 'P', 'L', 'T' },
	.proto_version = 1,
	.server_version = 1,
	.max_body = 65536,
};

static const char *wisp_exe;
static char conf[512], port_base[64], gate[64], gate_env[96];
static int gate_port;
static struct proc procs[MAX_PROCS];
static int proc_count;

static struct proc *start_node(const char *node)
{
	if (proc_count == MAX_PROCS)
		return NULL;
	struct proc *p = &procs[proc_count];
	char *args[] = { (char *)wisp_exe, conf, (char *)node, NULL };
	char *env[] = { port_base, gate_env, NULL };
	if (proc_start(p, args, env) < 0)
		return NULL;
	p->label = node;
	proc_count++;
	return p;
}

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static int wait_marker(const struct proc *p, const char *text, int ms)
{
	if (p && proc_wait_output(p, text, ms))
		return 1;
	fprintf(stderr, "no \"%s\" from %s within %d ms\n", text,
		p ? p->label : "(not started)", ms);
	test_failures++;
	return 0;
}

/* A game node, started and ready: its board and probe are up. */
static struct proc *start_game(const char *node)
{
	struct proc *p = start_node(node);
	if (!wait_marker(p, "READY board", START_MS)
		|| !wait_marker(p, "READY probe", START_MS))
		return NULL;
	return p;
}

static void kill_node(struct proc *p)
{
	kill(p->pid, SIGKILL);
	CHECK_INT(proc_wait(p, 5000), 128 + SIGKILL);
}

/* ---- the gate's route to board@game2 ---- */

static struct wisp_cli *client(void)
{
	struct wisp_cli *c = wisp_cli_new(&proto);
	if (wisp_cli_connect(c, "127.0.0.1", gate_port, FRAME_MS) == 0)
		return c;
	fprintf(stderr, "client: %s\n", wisp_cli_error(c));
	test_failures++;
	wisp_cli_free(c);
	return NULL;
}

/* Sends body on BOARD (RESTART for "restart") and reads frames for up to
 * ms: 1 when the board's answer "game2 BODY" came. */
static int ask_board(struct wisp_cli *c, const char *body, int ms)
{
	char want[64];
	snprintf(want, sizeof(want), "game2 %s", body);
	uint32_t command = strcmp(body, "restart") == 0 ? RESTART : BOARD;
	if (wisp_cli_send(c, command, body, strlen(body), FRAME_MS) < 0)
		return 0;
	for (long long until = now_ms() + ms; now_ms() < until;) {
		struct wisp_client_frame f;
		if (wisp_cli_recv(c, &f, (int)(until - now_ms())) != 1)
			return 0;
		if (f.command == command && f.size == strlen(want)
			&& memcmp(f.body, want, f.size) == 0)
			return 1;
	}
	return 0;
}

/* Once the board is back, a command gets through: each try on a fresh
 * client, so that none waits behind a command lost with the board. */
static int board_back(void)
{
	for (long long until = now_ms() + BACK_MS; now_ms() < until;) {
		struct wisp_cli *c = client();
		int ok = c && ask_board(c, "back", 1000);
		if (c)
			wisp_cli_free(c);
		if (ok)
			return 1;
		usleep(100000);
	}
	fprintf(stderr, "the route to board@game2 did not work again within "
		"%d ms of the board's restart\n", BACK_MS);
	test_failures++;
	return 0;
}

static void many_commands(void)
{
	struct wisp_cli *c = client();
	int answered = 0;
	for (int i = 0; c && i < COMMANDS; i++) {
		char body[32];
		snprintf(body, sizeof(body), "command %d", i);
		if (!ask_board(c, body, FRAME_MS))
			break;
		answered++;
	}
	CHECK_INT(answered, COMMANDS);
	if (c)
		wisp_cli_free(c);
}

/* The route works, by handle after a few commands; the board starts
 * again as a new service: the route follows it. game2 is killed: the gate
 * says so, naming the node; game2 comes back: the route works again, for
 * many commands. */
static void gate_route(struct proc *net, struct proc *game2)
{
	struct wisp_cli *c = client();
	for (int i = 0; c && i < 5; i++)
		CHECK(ask_board(c, "before", FRAME_MS));
	CHECK(c && ask_board(c, "restart", FRAME_MS)); /* command 9 */
	board_back();
	kill_node(game2);
	if (c) { /* its answer, if any, is an error frame */
		wisp_cli_send(c, BOARD, "down", 4, FRAME_MS);
		wisp_cli_free(c);
	}
	wait_marker(net, "failed: node game2 is down", FRAME_MS);
	CHECK(proc_output_at(net, "no service named 'board@game2'") < 0);
	if (start_game("game2") && board_back())
		many_commands();
}

/* ---- the run ---- */

static void run_cluster(void)
{
	struct proc *root = start_node("root");
	struct proc *game1 = start_game("game1");
	struct proc *game2 = start_game("game2");
	struct proc *game3 = start_game("game3");
	if (!root || !game1 || !game2 || !game3)
		return;
	struct proc *net = start_node("net");
	if (!wait_marker(net, "KILL game3", MARKER_MS))
		return;
	kill_node(game3);
	CHECK_INT(proc_gate_open(gate, "game3.killed"), 0);
	if (!wait_marker(net, "START game3", MARKER_MS))
		return;
	game3 = start_game("game3");
	CHECK_INT(proc_gate_open(gate, "game3.started"), 0);
	if (!game3 || !wait_marker(net, "GATE NOW", MARKER_MS))
		return;
	gate_route(net, game2);
	CHECK_INT(proc_gate_open(gate, "gate.done"), 0);

	CHECK_INT(proc_wait(net, MARKER_MS), 0);
	char done[64];
	snprintf(done, sizeof(done), "lua tests: %d passed, 0 failed", NET_CASES);
	CHECK(proc_output_at(net, done) >= 0);
	char *err = proc_output(net, 1);
	CHECK_STR(err, "");
	free(err);
	for (int i = 0; i < proc_count; i++)
		if (procs[i].running)
			CHECK_INT(proc_stop_clean(&procs[i], 10000), 0);
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: test_placement WISP SOURCE_ROOT\n");
		return 2;
	}
	wisp_exe = argv[1];
	snprintf(conf, sizeof(conf), "%s/test/placement/cluster.lua", argv[2]);
	int base = free_port_run(NODE_PORTS);
	CHECK(base > 0);
	gate_port = base + GATE_OFFSET;
	snprintf(port_base, sizeof(port_base), "WISP_PORT_BASE=%d", base);
	CHECK_INT(proc_gate_make(gate, sizeof(gate), "placement"), 0);
	snprintf(gate_env, sizeof(gate_env), "WISP_GATE=%s", gate);
	proc_guard(procs, MAX_PROCS, 170); /* under meson's timeout of 180 s */

	if (base > 0)
		run_cluster();
	proc_finish(procs, proc_count, test_failures);
	proc_gate_remove(gate, "game3.killed");
	proc_gate_remove(gate, "game3.started");
	proc_gate_remove(gate, "gate.done");
	return TEST_END();
}
