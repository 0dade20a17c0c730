/* test_master_demo.c: the master (`wisp --run-dir DIR conf/demo.lua`)
 * running the demo cluster (root, net, lobby, db, game1..game3) on free
 * ports, the database in a temporary directory. 50 bots play and save
 * their states; game1, one of the game nodes holding the players'
 * agents, is killed with -9: the master says why it died and starts it
 * again, and fresh bots log in with no error once it is back (their
 * agents placed on the game nodes up then). SIGTERM stops the nodes net
 * first, then game, db and root, and the master exits 0. A second master
 * on the same run directory and database gives every bot its saved state
 * back (no write lost). Each node logged to DIR/NODE.log and wrote nothing
 * to DIR/NODE.out. Every wait is bounded; the master is killed at the end
 * whatever happened (its nodes stop when it goes). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "proc.h"
#include "testlib.h"

#define PORTS 9           /* harbors at base + 1..7, the gate at base + 8 */
#define BOTS "50"
#define ROOMS "5"
#define PLAY_S "3"
#define START_MS 60000    /* the cluster's start (or game1's), under ASan */
#define WAIT_MS 15000     /* a line from the master */
#define BOTS_MS 60000     /* a run of the bots, setup and drain included */
#define STOP_MS 30000     /* four stages of stop_timeout + 2 s at most */
#define TRY_TIMEOUT "5"   /* s a bot waits for a reply while game1 is away */

static const char *wisp_exe, *bots_exe;
static char top[64], run_dir[80], conf[512], gate[32], saved[128];
static char env_base[64], env_gate[64], env_db[128];
/* the master, and the run of the bots under way */
static struct proc procs[2] = { { .label = "master" },
	{ .label = "wisp-bots" } };
static struct proc *const master = &procs[0], *const bots = &procs[1];

/* In the order they stop: net, game, db, root; each up once its log holds
 * its line. */
static const struct {
	const char *name, *ready;
	int stage;
} nodes[] = {
	{ "net", "gate listening for clients", 0 },
	{ "lobby", "demo: login ready", 1 },
	{ "game1", "starting;", 1 },
	{ "game2", "starting;", 1 },
	{ "game3", "starting;", 1 },
	{ "db", " open: ", 2 },
	{ "root", "starting;", 3 },
};
#define NODE_COUNT (int)(sizeof(nodes) / sizeof(nodes[0]))

static int count_of(const char *text, const char *needle)
{
	int n = 0;
	for (const char *at = strstr(text, needle); at; at = strstr(at + 1,
			needle))
		n++;
	return n;
}

/* How many times text is in DIR/NODE.log (or .out, with ext). */
static int node_file_has(const char *node, const char *ext, const char *text)
{
	char *all = proc_node_file(run_dir, node, ext);
	int n = count_of(all, text);
	free(all);
	return n;
}

/* Waits up to ms for text to be in a node's log at least times times. */
static int wait_log(const char *node, const char *text, int times, int ms)
{
	for (int waited = 0; waited <= ms; waited += 50) {
		if (node_file_has(node, "log", text) >= times)
			return 1;
		usleep(50000);
	}
	fprintf(stderr, "no \"%s\" (%d times) in the log of %s within %d ms\n",
		text, times, node, ms);
	test_failures++;
	return 0;
}

static int wait_master(const char *text, int ms)
{
	if (proc_wait_output(master, text, ms))
		return 1;
	fprintf(stderr, "no \"%s\" from the master within %d ms\n", text, ms);
	test_failures++;
	return 0;
}

/* Where text first is in the master's output, or -1. */
static long master_at(const char *text)
{
	return proc_output_at(master, text);
}

static int master_count(const char *text)
{
	char *out = proc_output(master, 0);
	int n = count_of(out, text);
	free(out);
	return n;
}

/* Whether pid runs `wisp --log LOG [--watch FD] CONFIG node` of this
 * cluster (FD: the master's watch page): the master's word checked
 * against the process, so that nothing else gets the SIGKILL. */
static int runs_node(pid_t pid, const char *node)
{
	char path[64], buf[2048];
	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return 0;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	const char *args[8] = { 0 };
	int argc = 0;
	for (size_t i = 0; i < n && argc < 8; i += strlen(buf + i) + 1)
		args[argc++] = buf + i;
	int watched = argc == 7 && strcmp(args[3], "--watch") == 0;
	return (argc == 5 || watched) && strcmp(args[1], "--log") == 0
		&& strcmp(args[argc - 2], conf) == 0
		&& strcmp(args[argc - 1], node) == 0;
}

/* " game1 wisp node game1 (id ": a node's first line, once per start */
static void start_line(char *buf, size_t sz, const char *node)
{
	snprintf(buf, sz, " %s wisp node %s (id ", node, node);
}

/* The starts each node's log held before this master: the logs of a run
 * directory go on across masters. */
static int starts_before[NODE_COUNT];

static void start_master(void)
{
	char *args[] = { (char *)wisp_exe, "--run-dir", run_dir, conf, NULL };
	char *env[] = { env_base, env_gate, env_db, NULL };
	char text[96];
	for (int i = 0; i < NODE_COUNT; i++) {
		start_line(text, sizeof(text), nodes[i].name);
		starts_before[i] = node_file_has(nodes[i].name, "log", text);
	}
	proc_cleanup(master);
	CHECK_INT(proc_start(master, args, env), 0);
}

/* Runs wisp-bots with args (then the gate) and waits for it: its exit
 * code; its stdout stays in bots->out. */
static int run_bots(char **args)
{
	char *argv[32] = { (char *)bots_exe };
	int n = 1;
	while (*args && n < 30)
		argv[n++] = *args++;
	argv[n++] = gate;
	argv[n] = NULL;
	proc_cleanup(bots);
	if (proc_start(bots, argv, NULL) < 0)
		return -1;
	return proc_wait(bots, BOTS_MS);
}

static int bots_said(const char *text)
{
	char *out = proc_output(bots, 0);
	int found = strstr(out, text) != NULL;
	free(out);
	return found;
}

/* Runs the bots with args until they exit 0 or ms have passed (each run
 * bounded too): their last exit code. */
static int retry_bots(char **args, int ms, int *tries)
{
	long long deadline = proc_now_ms() + ms;
	int code;
	for (*tries = 1; (code = run_bots(args)) != 0
			&& proc_now_ms() < deadline; (*tries)++)
		usleep(500000);
	return code;
}

/* One bot logs in, tried until it does: the gate answers and routes to
 * login@lobby, whose agent on a game node reaches the db node. */
static int wait_game(int ms)
{
	char *probe[] = { "--bots", "1", "--prefix", "probe", "--duration", "0",
		"--timeout", TRY_TIMEOUT, NULL };
	int tries;
	if (retry_bots(probe, ms, &tries) == 0)
		return 1;
	fprintf(stderr, "no login through the gate within %d ms\n", ms);
	proc_dump(bots);
	test_failures++;
	return 0;
}

/* Every node started by the master, each logging to its own file, and a
 * login goes through. The first missing line ends it: the rest would
 * only wait as long again. */
static void test_start(void)
{
	char text[96];
	for (int i = 0; i < NODE_COUNT; i++) {
		snprintf(text, sizeof(text), "node %s started (pid ", nodes[i].name);
		if (!wait_master(text, WAIT_MS))
			return;
	}
	for (int i = 0; i < NODE_COUNT; i++) {
		start_line(text, sizeof(text), nodes[i].name);
		if (!wait_log(nodes[i].name, text, starts_before[i] + 1, START_MS)
			|| !wait_log(nodes[i].name, nodes[i].ready,
				starts_before[i] + 1, START_MS))
			return;
	}
	wait_game(START_MS);
}

/* The bots play without an error and save their states. */
static void test_play(void)
{
	char *play[] = { "--bots", BOTS, "--rooms", ROOMS, "--duration", PLAY_S,
		"--save", saved, NULL };
	CHECK_INT(run_bots(play), 0);
	CHECK(bots_said("summary: " BOTS " bots, " BOTS " logged in"));
	CHECK(bots_said(", errors 0\n"));
	char *lines = proc_read_file(saved);
	CHECK_INT(proc_count_lines(lines), atoi(BOTS));
	free(lines);
	if (test_failures)
		proc_dump(bots);
}

/* kill -9 game1: the master says why it died and starts it again; the
 * new game1 logs in its same file. */
static void test_kill_game1(void)
{
	pid_t pid = proc_started_pid(master, "game1");
	CHECK(pid > 0 && runs_node(pid, "game1"));
	if (pid <= 0 || !runs_node(pid, "game1"))
		return;
	CHECK_INT(kill(pid, SIGKILL), 0);
	if (!wait_master("node game1 died: killed by signal 9 (SIGKILL); "
			"restarting in 1000 ms", WAIT_MS))
		return;
	for (int i = 0; i < WAIT_MS / 50
			&& proc_started_pid(master, "game1") == pid; i++)
		usleep(50000);
	pid_t again = proc_started_pid(master, "game1");
	CHECK(again > 0 && again != pid);
	wait_log("game1", "starting;", starts_before[2] /* game1 */ + 2,
		START_MS);
}

/* Fresh bots, under another prefix, log in through the gate and play
 * with no error, their agents on the game nodes up: tried until they do,
 * within START_MS (the lobby may not have seen game1 go or come yet). */
static void test_play_again(void)
{
	char *play[] = { "--bots", BOTS, "--rooms", ROOMS, "--prefix", "again",
		"--duration", "1", "--timeout", TRY_TIMEOUT, NULL };
	int tries, code = retry_bots(play, START_MS, &tries);
	printf("the bots played again after %d tries\n", tries);
	CHECK_INT(code, 0);
	CHECK(bots_said("summary: " BOTS " bots, " BOTS " logged in"));
	CHECK(bots_said(", errors 0\n"));
	if (code != 0)
		proc_dump(bots);
}

/* The "stopping the X nodes" lines in order, and each node's "stopped
 * (exit 0)" after those of every stage before its own. */
static void check_stop_order(void)
{
	static const char *const stages[] = { "stopping the net nodes",
		"stopping the game nodes", "stopping the db nodes",
		"stopping the root nodes" };
	for (int s = 1; s < 4; s++)
		CHECK(master_at(stages[s - 1]) >= 0
			&& master_at(stages[s]) > master_at(stages[s - 1]));
	char text[64];
	long before = -1, stage_end = -1; /* the last line of earlier stages */
	for (int i = 0; i < NODE_COUNT; i++) {
		if (i > 0 && nodes[i].stage != nodes[i - 1].stage)
			before = stage_end;
		snprintf(text, sizeof(text), "node %s stopped (exit 0)",
			nodes[i].name);
		long at = master_at(text);
		if (at < 0 || at < before)
			fprintf(stderr, "\"%s\" missing or too early\n", text);
		CHECK(at >= 0 && at > before);
		if (at > stage_end)
			stage_end = at;
	}
}

/* SIGTERM: the master stops its nodes in order and exits 0; each node
 * logged its stop to its own file, no error (game1's death is a warning
 * to the others), and wrote nothing else. */
static void test_stop(void)
{
	CHECK_INT(kill(master->pid, SIGTERM), 0);
	CHECK_INT(proc_wait(master, STOP_MS), 0);
	check_stop_order();
	CHECK(master_at("every node stopped; exit 0") >= 0);
	for (int i = 0; i < NODE_COUNT; i++) {
		CHECK(node_file_has(nodes[i].name, "log", "all services stopped"));
		CHECK_INT(node_file_has(nodes[i].name, "log", " ERROR "), 0);
		CHECK(proc_node_quiet(run_dir, nodes[i].name));
	}
}

/* The first master: play, game1 killed and back, play again, stop. Only
 * game1 died, once. */
static void first_run(void)
{
	start_master();
	RUN(test_start);
	if (test_failures == 0)
		RUN(test_play);
	if (test_failures == 0)
		RUN(test_kill_game1);
	if (test_failures == 0)
		RUN(test_play_again);
	RUN(test_stop);
	CHECK_INT(master_count(" died: "), 1);
}

/* A second master on the same run directory and database: every saved
 * state comes back, the nodes' logs go on in the same files. */
static void second_run(void)
{
	char *verify[] = { "--bots", BOTS, "--rooms", ROOMS, "--duration", "0",
		"--verify", saved, NULL };
	start_master();
	RUN(test_start);
	if (test_failures == 0) {
		CHECK_INT(run_bots(verify), 0);
		CHECK(bots_said("summary: " BOTS " of " BOTS " logins gave back the "
			"saved state"));
		if (test_failures)
			proc_dump(bots);
	}
	RUN(test_stop);
	CHECK_INT(master_count(" died: "), 0);
	char text[96];
	for (int i = 0; i < NODE_COUNT; i++) { /* game1 had one start more */
		start_line(text, sizeof(text), nodes[i].name);
		CHECK_INT(node_file_has(nodes[i].name, "log", text),
			strcmp(nodes[i].name, "game1") == 0 ? 3 : 2);
	}
}

/* What the master and every node said, for a failure's report. */
static void dump_logs(void)
{
	proc_dump(master);
	for (int i = 0; i < NODE_COUNT; i++) {
		char path[128];
		snprintf(path, sizeof(path), "%s/%s.log", run_dir, nodes[i].name);
		char *text = proc_read_file(path);
		fprintf(stderr, "==== %s:\n%s", path, text);
		free(text);
	}
}

static void set_env(int base)
{
	snprintf(gate, sizeof(gate), "127.0.0.1:%d", base + PORTS - 1);
	snprintf(env_base, sizeof(env_base), "WISP_DEMO_PORT_BASE=%d", base);
	snprintf(env_gate, sizeof(env_gate), "WISP_GATE_ADDR=%s", gate);
	snprintf(env_db, sizeof(env_db), "WISP_DB_FILE=%s/demo.db", top);
	snprintf(run_dir, sizeof(run_dir), "%s/run", top);
	snprintf(saved, sizeof(saved), "%s/players.txt", top);
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: test_master_demo WISP WISP_BOTS "
			"SOURCE_ROOT\n");
		return 2;
	}
	wisp_exe = argv[1];
	bots_exe = argv[2];
	snprintf(conf, sizeof(conf), "%s/conf/demo.lua", argv[3]);
	snprintf(top, sizeof(top), "/tmp/wisp_master_demo_XXXXXX");
	CHECK(mkdtemp(top) != NULL);
	int base = free_port_run(PORTS);
	CHECK(base > 0);
	set_env(base);
	proc_guard(procs, 2, 170); /* under meson's timeout of 180 s */

	if (test_failures == 0)
		first_run();
	if (test_failures == 0)
		second_run();
	if (test_failures)
		dump_logs();
	proc_kill_all();
	proc_cleanup(master);
	proc_cleanup(bots);
	proc_remove_tree(top);
	return TEST_END();
}
