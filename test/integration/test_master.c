/* test_master.c: the master, `wisp --run-dir DIR --log-max BYTES CONFIG`,
 * on the cluster of test/master/master.lua (root, db, game1, game2, net).
 * It starts every node, each logging to DIR/NODE.log; game1 is killed
 * with -9 and must come back, reachable by its cluster-wide name again
 * (game2 calls it every 100 ms and logs how it went); game2's chatter
 * makes the master rotate its log; SIGTERM stops the nodes net first,
 * then game, db and root, and the master exits 0. A second run has a
 * game node that does not stop: it is killed when its time is up, and
 * the master exits 1. A wrong config starts nothing; a node that fails
 * at start is restarted, and the master says what it printed. Every wait is
 * bounded; the master is killed at the end, whatever happened (its nodes
 * stop when it goes), and the temporary directory removed. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "proc.h"
#include "testlib.h"

#define PORTS 6          /* root, db, game1, game2, net, the gate */
#define LOG_MAX 2000     /* bytes: game2 passes it every few seconds */
#define LOGS_KEPT 5
#define START_MS 30000   /* the whole cluster's start, under sanitizers too */
#define WAIT_MS 15000    /* any other wait */
#define STOP_MS 30000    /* four stages of stop_timeout (2 s) + 2 s at most */

static const char *wisp_exe;
static char top[64], run_dir[80], conf[512], port_env[64], dir_env[96];
static struct proc master = { .label = "master" };
static int port_base;

/* The nodes in the order they stop: net, game, db, root. */
static const struct {
	const char *name;
	int stage;
} nodes[] = {
	{ "net", 0 }, { "game1", 1 }, { "game2", 1 }, { "db", 2 }, { "root", 3 },
};
#define NODE_COUNT (int)(sizeof(nodes) / sizeof(nodes[0]))

static void log_path(char *buf, size_t sz, const char *node, int k)
{
	if (k == 0)
		snprintf(buf, sz, "%s/%s.log", run_dir, node);
	else
		snprintf(buf, sz, "%s/%s.log.%d", run_dir, node, k);
}

/* Every file of a node's log, NODE.log then NODE.log.1 ... .5: read newest
 * first, a line the master rotates while we read moves to a file not read
 * yet, so it is not missed. */
static char *node_logs(const char *node)
{
	size_t size = 1, len = 0;
	char *all = calloc(1, size);
	for (int k = 0; k <= LOGS_KEPT; k++) {
		char path[128];
		log_path(path, sizeof(path), node, k);
		char *text = proc_read_file(path);
		size_t n = strlen(text);
		all = realloc(all, size += n);
		memcpy(all + len, text, n + 1);
		len += n;
		free(text);
	}
	return all;
}

static int logs_have(const char *node, const char *text)
{
	char *all = node_logs(node);
	int found = strstr(all, text) != NULL;
	free(all);
	return found;
}

/* Waits up to ms for text in a node's log; a missing one is a failure. */
static int wait_log(const char *node, const char *text, int ms)
{
	for (int waited = 0; waited <= ms; waited += 50) {
		if (logs_have(node, text))
			return 1;
		usleep(50000);
	}
	fprintf(stderr, "no \"%s\" in the log of %s within %d ms\n", text, node,
		ms);
	test_failures++;
	return 0;
}

static int wait_master(const char *text, int ms)
{
	if (proc_wait_output(&master, text, ms))
		return 1;
	fprintf(stderr, "no \"%s\" from the master within %d ms\n", text, ms);
	test_failures++;
	return 0;
}

/* The first token of a "READY pinger TOKEN" line in game1's log that is
 * not `other`, into out; 0, or -1 if there is none. */
static int pinger_token(const char *other, char *out, size_t sz)
{
	char *all = node_logs("game1");
	int rc = -1;
	for (char *at = strstr(all, "READY pinger "); at && rc < 0;
			at = strstr(at + 1, "READY pinger ")) {
		at += strlen("READY pinger ");
		snprintf(out, sz, "%.*s", (int)strcspn(at, "\n"), at);
		rc = strcmp(out, other) == 0 ? -1 : 0;
	}
	free(all);
	return rc;
}

static int wait_token(const char *other, char *out, size_t sz, int ms)
{
	for (int waited = 0; waited <= ms; waited += 50) {
		if (pinger_token(other, out, sz) == 0)
			return 0;
		usleep(50000);
	}
	fprintf(stderr, "no new pinger token in game1's log within %d ms\n", ms);
	test_failures++;
	return -1;
}

/* Where text first is in the master's output, or -1. */
static long master_at(const char *text)
{
	return proc_output_at(&master, text);
}

/* The milliseconds of day of the master's line holding text, or -1. */
static long master_time(const char *text)
{
	char *out = proc_output(&master, 0);
	char *at = strstr(out, text);
	int h, m, s, ms;
	long t = -1;
	while (at && at > out && at[-1] != '\n')
		at--;
	if (at && sscanf(at, "%*d-%*d-%*d %d:%d:%d.%d", &h, &m, &s, &ms) == 4)
		t = ((h * 60L + m) * 60 + s) * 1000 + ms;
	free(out);
	return t;
}

static void start_master(const char *dir)
{
	char max[32];
	snprintf(run_dir, sizeof(run_dir), "%s/%s", top, dir);
	snprintf(max, sizeof(max), "%d", LOG_MAX);
	char *args[] = { (char *)wisp_exe, "--run-dir", run_dir, "--log-max", max,
		conf, NULL };
	char *env[] = { port_env, dir_env, NULL };
	CHECK_INT(proc_start(&master, args, env), 0);
}

/* Every node started, roots first, then the db node, then the others; each
 * logs its start in its own file, and game2 reaches game1 by name. */
static void test_start(void)
{
	char text[96];
	for (int i = 0; i < NODE_COUNT; i++) {
		snprintf(text, sizeof(text), "node %s started (pid ", nodes[i].name);
		wait_master(text, WAIT_MS);
		snprintf(text, sizeof(text), "wisp node %s (id ", nodes[i].name);
		wait_log(nodes[i].name, text, START_MS);
	}
	long root = master_at("node root started"), db = master_at("node db started");
	CHECK(root >= 0 && db > root);
	for (int i = 0; i < NODE_COUNT; i++) {
		snprintf(text, sizeof(text), "node %s started", nodes[i].name);
		if (nodes[i].stage < 2)
			CHECK(master_at(text) > db);
	}
	wait_log("db", " open: ", START_MS);
	wait_log("game2", "CALL OK ", START_MS);
}

/* kill -9 game1: the master says why it died, starts it again after the
 * first backoff, and game2 reaches the new game1 by name. */
static void test_restart(void)
{
	char old[64], fresh[64], text[128];
	if (wait_token("", old, sizeof(old), WAIT_MS) < 0)
		return;
	pid_t pid = proc_started_pid(&master, "game1");
	CHECK(pid > 0);
	if (pid <= 0)
		return;
	CHECK_INT(kill(pid, SIGKILL), 0);
	const char *died = "node game1 died: killed by signal 9 (SIGKILL); "
		"restarting in 1000 ms";
	wait_master(died, WAIT_MS);
	for (int i = 0; i < 400 && proc_started_pid(&master, "game1") == pid;
			i++)
		usleep(50000);
	pid_t again = proc_started_pid(&master, "game1");
	CHECK(again > 0 && again != pid);
	snprintf(text, sizeof(text), "node game1 started (pid %d)", (int)again);
	long gap = master_time(text) - master_time(died);
	if (gap < 0)
		gap += 86400000; /* past midnight */
	CHECK(gap >= 990 && gap < 3000); /* the first backoff, 1 s */
	if (wait_token(old, fresh, sizeof(fresh), START_MS) < 0)
		return;
	snprintf(text, sizeof(text), " %s\n", fresh);
	wait_log("game2", text, WAIT_MS); /* "CALL OK n TOKEN" from the new one */
}

static long file_size(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

/* The highest n of the "CALL OK n" and "CALL FAIL n" lines of text. */
static int last_call(const char *text)
{
	int last = 0, n;
	for (const char *at = strstr(text, "CALL "); at;
			at = strstr(at + 1, "CALL "))
		if (sscanf(at, "CALL %*s %d", &n) == 1 && n > last)
			last = n;
	return last;
}

/* game2's log, past LOG_MAX, moves to game2.log.1 (the older ones up one),
 * and game2 goes on in a fresh game2.log. */
static void test_rotation(void)
{
	char path[128], fresh[128];
	log_path(path, sizeof(path), "game2", 2);
	log_path(fresh, sizeof(fresh), "game2", 0);
	for (int i = 0; i < 400 && file_size(path) < 0; i++)
		usleep(50000);
	CHECK(file_size(path) > 0); /* rotated twice, at least */
	wait_master("rotated ", WAIT_MS);
	for (int k = 1; k <= LOGS_KEPT; k++) {
		log_path(path, sizeof(path), "game2", k);
		long size = file_size(path);
		/* checked once a second: a second of chatter more at most */
		CHECK(size < 0 || (size > LOG_MAX && size < LOG_MAX + 3000));
	}
	log_path(path, sizeof(path), "game2", LOGS_KEPT + 1);
	CHECK_INT(file_size(path), -1);
	/* the node went on in a fresh file: it holds calls made after the
	 * last one in the file rotated away */
	log_path(path, sizeof(path), "game2", 1);
	char *rotated = proc_read_file(path);
	int last = last_call(rotated), now = last;
	free(rotated);
	for (int i = 0; i < 100 && now <= last; i++) {
		usleep(50000);
		char *text = proc_read_file(fresh);
		now = last_call(text);
		free(text);
	}
	CHECK(last > 0 && now > last);
	CHECK(file_size(fresh) < LOG_MAX + 3000);
}

/* The "node X stopped (exit 0)" lines, one per node, each after those of
 * every node of the stages before its own. */
static void check_stop_order(void)
{
	char *out = proc_output(&master, 0), text[64];
	long before = -1, stage_end = -1; /* the last line of earlier stages */
	for (int i = 0; i < NODE_COUNT; i++) {
		if (i > 0 && nodes[i].stage != nodes[i - 1].stage)
			before = stage_end;
		snprintf(text, sizeof(text), "node %s stopped (exit 0)",
			nodes[i].name);
		char *at = strstr(out, text);
		if (at == NULL || at - out < before)
			fprintf(stderr, "\"%s\" missing or too early\n", text);
		CHECK(at != NULL && at - out > before);
		if (at && at - out > stage_end)
			stage_end = at - out;
	}
	free(out);
}

/* SIGTERM: net, game, db, then root stop, each exiting 0 with its
 * services stopped in order, and so does the master. */
static void test_stop(void)
{
	CHECK_INT(kill(master.pid, SIGTERM), 0);
	CHECK_INT(proc_wait(&master, STOP_MS), 0);
	check_stop_order();
	CHECK(master_at("every node stopped; exit 0") >= 0);
	for (int i = 0; i < NODE_COUNT; i++) {
		CHECK(logs_have(nodes[i].name, "all services stopped"));
		CHECK(proc_node_quiet(run_dir, nodes[i].name));
	}
}

/* A game node that does not stop (it is stopped with SIGSTOP) is killed
 * once stop_timeout (2 s) + 2 s have passed; the stop goes on to the db
 * and root nodes, and the master exits 1. */
static void test_stop_timeout(void)
{
	wait_log("game2", "CALL OK ", START_MS);
	pid_t game2 = proc_started_pid(&master, "game2");
	CHECK(game2 > 0);
	if (game2 <= 0)
		return;
	CHECK_INT(kill(game2, SIGSTOP), 0);
	CHECK_INT(kill(master.pid, SIGTERM), 0);
	CHECK_INT(proc_wait(&master, STOP_MS), 1);
	const char *killing = "node game2 did not stop within 4000 ms; killing it";
	CHECK(master_at(killing) > master_at("node game1 stopped (exit 0)"));
	long waited = master_time(killing) - master_time("stopping the game nodes");
	if (waited < 0)
		waited += 86400000; /* past midnight */
	CHECK(waited >= 3990 && waited < 6000);
	long killed = master_at("node game2 stopped: killed by signal 9 (SIGKILL)");
	CHECK(killed > 0);
	CHECK(master_at("node db stopped (exit 0)") > killed);
	CHECK(master_at("node root stopped (exit 0)") > killed);
	CHECK(master_at("every node stopped; exit 1") > 0);
}

/* A node that is wrong in the config: the master says so and starts
 * nothing, not even the run directory. */
static void test_bad_config(void)
{
	char bad[128], dir[128];
	snprintf(bad, sizeof(bad), "%s/bad.lua", top);
	snprintf(dir, sizeof(dir), "%s/bad_run", top);
	FILE *f = fopen(bad, "w");
	fputs("return { nodes = { a = { id = 1 }, b = { id = 2, roles = "
		"{ 'nett' } } } }\n", f);
	fclose(f);
	char *args[] = { (char *)wisp_exe, "--run-dir", dir, bad, NULL };
	struct proc p = { .label = "bad master" };
	CHECK_INT(proc_start(&p, args, NULL), 0);
	CHECK_INT(proc_wait(&p, WAIT_MS), 1);
	char *err = proc_output(&p, 1);
	CHECK(strstr(err, "unknown role 'nett' in nodes.b") != NULL);
	free(err);
	CHECK_INT(access(dir, F_OK), -1);
	proc_cleanup(&p);
}

/* A node whose script is missing exits 1 at start, saying why on its
 * stderr (NODE.out): the master's line about the exit quotes it, once per
 * start, and the restarts back off. */
static void test_node_says(void)
{
	int base = port_base;
	char path[128], dir[128];
	snprintf(path, sizeof(path), "%s/says.lua", top);
	snprintf(dir, sizeof(dir), "%s/says_run", top);
	FILE *f = fopen(path, "w");
	fprintf(f, "return { cluster = 'says', secret = os.getenv('WISP_SECRET'),"
		" nodes = { root = { id = 1, roles = { 'root' }, harbor = "
		"'127.0.0.1:%d' }, bad = { id = 2, roles = { 'node' }, harbor = "
		"'127.0.0.1:%d', services = { 'lua no_such_script' } } } }\n",
		base, base + 1);
	fclose(f);
	char *args[] = { (char *)wisp_exe, "--run-dir", dir, path, NULL };
	struct proc p = { .label = "says master" };
	CHECK_INT(proc_start(&p, args, NULL), 0);
	const char *died = "node bad died: exited with code 1; restarting in "
		"2000 ms\n";
	CHECK(proc_wait_output(&p, died, WAIT_MS));
	char *out = proc_output(&p, 0);
	const char *said = "WARN  master node bad said: wisp: cannot start "
		"service lua: script 'no_such_script' not found";
	char *first = strstr(out, said);
	CHECK(first != NULL);
	CHECK(first && strstr(first + 1, said) != NULL); /* each start's own */
	CHECK(first && first > strstr(out, "node bad died: exited with code 1; "
		"restarting in 1000 ms"));
	free(out);
	kill(p.pid, SIGTERM);
	CHECK_INT(proc_wait(&p, WAIT_MS), 1); /* bad did not exit 0 */
	proc_cleanup(&p);
}

/* --nodes: on a host of a cluster of several, the master starts only its
 * own nodes (here root, not bad, of says.lua); a name the config lacks
 * starts nothing. */
static void test_only_nodes(void)
{
	char path[128], dir[128];
	snprintf(path, sizeof(path), "%s/says.lua", top);
	snprintf(dir, sizeof(dir), "%s/only_run", top);
	char *args[] = { (char *)wisp_exe, "--run-dir", dir, "--nodes", "root",
		path, NULL };
	struct proc p = { .label = "only master" };
	CHECK_INT(proc_start(&p, args, NULL), 0);
	CHECK(proc_wait_output(&p, "node root started", WAIT_MS));
	CHECK(proc_wait_output(&p, ": 1 nodes (--nodes), logs in", WAIT_MS));
	usleep(300000); /* bad, were it started, would have died by now */
	kill(p.pid, SIGTERM);
	CHECK_INT(proc_wait(&p, WAIT_MS), 0);
	char *out = proc_output(&p, 0);
	CHECK(strstr(out, "node bad") == NULL);
	free(out);
	proc_cleanup(&p);
	char *wrong[] = { (char *)wisp_exe, "--run-dir", dir, "--nodes",
		"root,nope", path, NULL };
	struct proc q = { .label = "wrong master" };
	CHECK_INT(proc_start(&q, wrong, NULL), 0);
	CHECK_INT(proc_wait(&q, WAIT_MS), 1);
	char *err = proc_output(&q, 1);
	CHECK(strstr(err, "--nodes root,nope: 1 of these are not nodes of")
		!= NULL);
	free(err);
	proc_cleanup(&q);
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: test_master WISP SOURCE_ROOT\n");
		return 2;
	}
	wisp_exe = argv[1];
	snprintf(conf, sizeof(conf), "%s/test/master/master.lua", argv[2]);
	snprintf(top, sizeof(top), "/tmp/wisp_master_XXXXXX");
	CHECK(mkdtemp(top) != NULL);
	snprintf(dir_env, sizeof(dir_env), "WISP_MASTER_DIR=%s", top);
	int base = port_base = free_port_run(PORTS);
	CHECK(base > 0);
	snprintf(port_env, sizeof(port_env), "WISP_PORT_BASE=%d", base);
	proc_guard(&master, 1, 110); /* under meson's timeout of 120 s */

	RUN(test_bad_config);
	RUN(test_node_says);
	RUN(test_only_nodes);
	if (test_failures == 0) {
		start_master("run");
		RUN(test_start);
		RUN(test_restart);
		RUN(test_rotation);
		RUN(test_stop);
	}
	if (test_failures == 0) {
		proc_cleanup(&master);
		start_master("run2");
		RUN(test_stop_timeout);
	}
	if (test_failures)
		proc_dump(&master);
	proc_kill_all();
	proc_cleanup(&master);
	proc_remove_tree(top);
	return TEST_END();
}
