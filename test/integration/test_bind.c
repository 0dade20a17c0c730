/* test_bind.c: connections bound to agents, each node a real wisp process
 * on loopback (test/bind/cluster.lua): a root, a net node, game1 running
 * the login service (gate.events and every command's route) and game2
 * running the agents login starts and binds clients to. Steps, each on
 * what the one before left:
 *   across nodes: after its login a client's frames reach its agent on
 *     game2 with their session, and login on game1 sees none of them;
 *   a range: only the bound command ids go to the agent, the others to
 *     login, with the session all the same;
 *   unbind: the agent lets go, and the frames go to login again;
 *   limits: session data over 1 KiB, more than 64 bound ranges;
 *   disconnect: a bound client that leaves is told to its agent and to
 *     login once each, also when login is its bound service itself;
 *   agent gone: a client whose agent exited, or whose agent's node was
 *     killed, is sent to gate.commands' route again;
 *   net node lost: with 20 more clients logged in, kill -9 of the net
 *     node gives every bound agent and login exactly one disconnect per
 *     connection, "net node down", and login lets go of all of them.
 * Every wait is bounded, and every node is stopped (or killed) at the
 * end. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "gate_harness.h"
#include "proc.h"
#include "testlib.h"

#define NODE_PORTS 5 /* the harbors of root, net, game1, game2; the gate */
#define GATE_OFFSET 4
#define START_MS 20000
#define FRAME_MS 10000
#define EVENTS_MS 15000
#define QUIET_MS 500 /* a duplicate would have come by then */
#define CROWD 20
#define TEXT_MAX 256

/* login.lua's and agent.lua's commands */
enum { LOGIN = 1, LOGIN_RANGE, LOGIN_SELF, BIG_SESSION, MANY_RANGES,
	TAKE_15 };
enum { ECHO = 10, NOT_BOUND = 20, IN_RANGE = 21, UNBIND = 30, EXIT = 31,
	STATS = 50 };

static const struct wisp_client_proto proto = {
	.magic = { 'W', 'B', 'N', 'D' },
	.proto_version = 1,
	.server_version = 1,
	.max_body = 4096,
};

static const char *wisp_exe;
static char conf[512], port_base[64];
static int gate_port;
static struct proc procs[4];
static struct proc *const root = &procs[0], *const game1 = &procs[1];
static struct proc *const game2 = &procs[2], *const net = &procs[3];

/* a: logs in, later unbinds; b: never logs in; c: logs in for a range
 * and leaves; d: bound to login itself and leaves; e: its agent exits;
 * f: its agent's node is killed; the crowd logs in */
static struct wisp_cli *a, *b, *c, *d, *e, *f, *crowd[CROWD];
static unsigned long long conn_a, conn_b, conn_c, conn_d, conn_crowd[CROWD];

static int start_node(struct proc *p, const char *node, const char *ready)
{
	char *args[] = { (char *)wisp_exe, conf, (char *)node, NULL };
	char *env[] = { port_base, NULL };
	p->label = node;
	if (proc_start(p, args, env) == 0 && proc_wait_output(p, ready,
			START_MS))
		return 0;
	fprintf(stderr, "%s: no \"%s\" within %d ms\n", node, ready, START_MS);
	test_failures++;
	return -1;
}

static int start_cluster(void)
{
	return start_node(root, "root", "(id 1) starting") == 0
		&& start_node(game1, "game1", "READY login") == 0
		&& start_node(game2, "game2", "READY spawner") == 0
		&& start_node(net, "net", "gate listening for clients") == 0;
}

/* Asks command with body and checks that the answer is want. */
static void expect_answer(struct wisp_cli *cli, uint32_t command,
	const char *body, const char *want)
{
	char got[TEXT_MAX];
	CHECK_INT(gate_ask(cli, command, body, got, sizeof(got), FRAME_MS), 0);
	CHECK_STR(got, want);
}

/* Logs in with command and uid; *conn gets the conn login knows it by. */
static void log_in(struct wisp_cli *cli, uint32_t command, int uid,
	unsigned long long *conn)
{
	char got[TEXT_MAX], body[32];
	snprintf(body, sizeof(body), "%d", uid);
	CHECK_INT(gate_ask(cli, command, body, got, sizeof(got), FRAME_MS), 0);
	CHECK(sscanf(got, "ok %llu", conn) == 1);
}

/* ---- the steps ---- */

/* Frames before the login go to login, after it to the agent on game2,
 * each with the session; login counts none of those. */
static void across_nodes(void)
{
	a = gate_connect(&proto, gate_port, FRAME_MS);
	b = gate_connect(&proto, gate_port, FRAME_MS);
	expect_answer(a, ECHO, "a0", "login a0 0");
	log_in(a, LOGIN, 7, &conn_a);
	char body[16], want[64];
	for (int i = 1; i <= 5; i++) {
		snprintf(body, sizeof(body), "a%d", i);
		snprintf(want, sizeof(want), "agent a%d 7 u7 %d", i, i);
		expect_answer(a, ECHO, body, want);
	}
	expect_answer(b, STATS, "", "echoes 1");
	expect_answer(b, ECHO, "b0", "login b0 0");
	CHECK_INT(proc_log_lines(game1, "MEMBERS 1", ""), 1);
}

/* Bound for 10..19 and 21 only: 20 and 22 still go to login, which gets
 * the session too. Then 15 alone is bound to login, out of the middle of
 * the agent's range (login is then bound to c as well). */
static void command_range(void)
{
	c = gate_connect(&proto, gate_port, FRAME_MS);
	log_in(c, LOGIN_RANGE, 8, &conn_c);
	expect_answer(c, ECHO, "c1", "agent c1 8 u8 1");
	expect_answer(c, IN_RANGE, "c2", "agent c2 8 u8 2");
	expect_answer(c, NOT_BOUND, "c3", "login c3 8");
	expect_answer(c, 22, "c4", "login c4 8");
	expect_answer(c, 19, "c5", "agent c5 8 u8 3");
	expect_answer(b, STATS, "", "echoes 2");
	expect_answer(c, TAKE_15, "", "took 15");
	expect_answer(c, 14, "c6", "agent c6 8 u8 4");
	expect_answer(c, 15, "c7", "login c7 8");
	expect_answer(c, 16, "c8", "agent c8 8 u8 5");
}

/* The agent unbinds the client: its frames go by gate.commands again,
 * and its session stays. */
static void unbind(void)
{
	expect_answer(a, UNBIND, "", "unbound");
	expect_answer(a, ECHO, "a6", "login a6 7");
	expect_answer(b, STATS, "", "echoes 3");
	expect_answer(a, UNBIND, "", "login  7");
}

static int disconnects(const struct proc *p, const char *who,
	unsigned long long conn)
{
	char text[64];
	snprintf(text, sizeof(text), "%s_DISCONNECT %llu ", who, conn);
	return proc_log_lines(p, text, "");
}

/* Session data past 1 KiB raises in the service that sets it; a
 * connection bound in more than 64 ranges is refused the bind that would
 * pass it (login binds b to itself, then unbinds it: it still knows b as
 * gate.events). */
static void limits(void)
{
	char got[TEXT_MAX];
	CHECK_INT(gate_ask(b, BIG_SESSION, "", got, sizeof(got), FRAME_MS), 0);
	CHECK(strstr(got, "at most 1024") != NULL);
	CHECK_INT(gate_ask(b, MANY_RANGES, "", got, sizeof(got), FRAME_MS), 0);
	CHECK(sscanf(got, "ok %llu", &conn_b) == 1);
	CHECK(proc_wait_log(net, "refused: a connection is bound in at most 64",
		"", EVENTS_MS));
	expect_answer(b, ECHO, "b1", "login b1 0");
}

/* c leaves: its agent and login hear of it once each. d is bound to
 * login itself, which is gate.events too: it hears of d's close once. */
static void disconnect(void)
{
	wisp_cli_free(c);
	c = NULL;
	CHECK(proc_wait_log(game2, "AGENT_DISCONNECT", "closed by the client",
		EVENTS_MS));
	CHECK(proc_wait_log(game1, "LOGIN_DISCONNECT", "closed by the client",
		EVENTS_MS));
	d = gate_connect(&proto, gate_port, FRAME_MS);
	log_in(d, LOGIN_SELF, 9, &conn_d);
	expect_answer(d, NOT_BOUND, "d1", "login d1 9");
	wisp_cli_free(d);
	d = NULL;
	CHECK(proc_wait_log_count(game1, "closed by the client", 2, EVENTS_MS));
	proc_sleep_ms(QUIET_MS);
	CHECK_INT(disconnects(game2, "AGENT", conn_c), 1);
	CHECK_INT(disconnects(game1, "LOGIN", conn_c), 1);
	CHECK_INT(disconnects(game1, "LOGIN", conn_d), 1);
	CHECK_INT(proc_log_count(game2, "AGENT_DISCONNECT"), 1);
}

/* Reads and drops what comes to cli within ms: the failure of a command
 * sent to a service gone may or may not be told to the client. */
static void drop_frames(struct wisp_cli *cli, int ms)
{
	struct wisp_client_frame frame;
	while (wisp_cli_recv(cli, &frame, ms) == 1)
		;
}

/* e's agent exits: the first frame after fails ("no service"), and the
 * gate drops the binding: the next ones go to login. */
static void agent_gone(void)
{
	e = gate_connect(&proto, gate_port, FRAME_MS);
	unsigned long long conn;
	log_in(e, LOGIN, 11, &conn);
	expect_answer(e, ECHO, "e1", "agent e1 11 u11 1");
	expect_answer(e, EXIT, "", "bye");
	proc_sleep_ms(QUIET_MS);
	CHECK_INT(gate_send(e, ECHO, "lost", FRAME_MS), 0);
	CHECK(proc_wait_log(net, "bound service", "is gone", EVENTS_MS));
	drop_frames(e, QUIET_MS);
	expect_answer(e, ECHO, "e2", "login e2 11");
}

/* kill -9 of game2, where f's agent is: the gate drops every binding to
 * the node (its handles will name other services once it is back), and
 * f's frames go to login. game2 is started again for the next step. */
static void agent_node_lost(void)
{
	f = gate_connect(&proto, gate_port, FRAME_MS);
	unsigned long long conn;
	log_in(f, LOGIN, 12, &conn);
	expect_answer(f, ECHO, "f1", "agent f1 12 u12 1");
	kill(game2->pid, SIGKILL);
	CHECK_INT(proc_wait(game2, FRAME_MS), 128 + SIGKILL);
	proc_cleanup(game2);
	CHECK(proc_wait_log(net, "node game2 is down", "bound there",
		EVENTS_MS));
	expect_answer(f, ECHO, "f2", "login f2 12");
	if (start_node(game2, "game2", "READY spawner") == 0)
		CHECK(proc_wait_log(net, "link to node game2 is up", "", EVENTS_MS));
}

/* kill -9 of the net node: each agent still bound and login get one
 * "net node down" for each client they held; login holds none after. */
static void net_node_lost(void)
{
	char want[64];
	for (int i = 0; i < CROWD; i++) {
		crowd[i] = gate_connect(&proto, gate_port, FRAME_MS);
		log_in(crowd[i], LOGIN, 100 + i, &conn_crowd[i]);
		snprintf(want, sizeof(want), "agent x %d u%d 1", 100 + i, 100 + i);
		expect_answer(crowd[i], ECHO, "x", want);
	}
	kill(net->pid, SIGKILL);
	CHECK_INT(proc_wait(net, FRAME_MS), 128 + SIGKILL);
	int open = CROWD + 4; /* a, b, e and f too */
	CHECK(proc_wait_log_count(game2, "net node down", CROWD, EVENTS_MS));
	CHECK(proc_wait_log_count(game1, "net node down", open, EVENTS_MS));
	proc_sleep_ms(QUIET_MS);
	CHECK_INT(proc_log_count(game2, "net node down"), CROWD);
	CHECK_INT(proc_log_count(game1, "net node down"), open);
	for (int i = 0; i < CROWD; i++) {
		CHECK_INT(disconnects(game2, "AGENT", conn_crowd[i]), 1);
		CHECK_INT(disconnects(game1, "LOGIN", conn_crowd[i]), 1);
	}
	CHECK_INT(disconnects(game1, "LOGIN", conn_a), 1);
	CHECK_INT(disconnects(game1, "LOGIN", conn_b), 1);
	CHECK(proc_wait_log(game1, "MEMBERS 0", "", EVENTS_MS));
	CHECK_INT(proc_log_count(game1, "MEMBERS 0"), 1);
}

static void free_clients(void)
{
	struct wisp_cli **all[] = { &a, &b, &c, &d, &e, &f };
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		if (*all[i])
			wisp_cli_free(*all[i]);
	for (int i = 0; i < CROWD; i++)
		if (crowd[i])
			wisp_cli_free(crowd[i]);
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: test_bind WISP SOURCE_ROOT\n");
		return 2;
	}
	wisp_exe = argv[1];
	snprintf(conf, sizeof(conf), "%s/test/bind/cluster.lua", argv[2]);
	int base = free_port_run(NODE_PORTS);
	if (base < 0) {
		fprintf(stderr, "no run of %d free ports\n", NODE_PORTS);
		return 1;
	}
	snprintf(port_base, sizeof(port_base), "WISP_PORT_BASE=%d", base);
	gate_port = base + GATE_OFFSET;
	proc_guard(procs, 4, 150);
	if (start_cluster()) {
		static const struct test_step steps[] = {
			{ "across_nodes", across_nodes },
			{ "command_range", command_range },
			{ "unbind", unbind },
			{ "limits", limits },
			{ "disconnect", disconnect },
			{ "agent_gone", agent_gone },
			{ "agent_node_lost", agent_node_lost },
			{ "net_node_lost", net_node_lost },
		};
		RUN_STEPS(steps);
	}
	free_clients();
	struct proc *live[] = { game1, game2, root };
	for (size_t i = 0; i < 3; i++)
		if (live[i]->running && proc_stop_clean(live[i], START_MS) < 0)
			test_failures++;
	if (test_failures)
		for (int i = 0; i < 4; i++)
			proc_dump(&procs[i]);
	proc_kill_all();
	for (int i = 0; i < 4; i++)
		proc_cleanup(&procs[i]);
	return TEST_END();
}
