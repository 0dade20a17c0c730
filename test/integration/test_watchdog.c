/* test_watchdog.c: a node that is alive but stuck is noticed. The master,
 * `wisp --run-dir DIR CONFIG`, runs test/watchdog/watchdog.lua (watchdog
 * 1 s, handler_warn 200 ms). Node stall runs a C service (the test module
 * stall.so) that, told "slow 300", keeps its handler 300 ms: the node
 * logs a WARN naming the service and the message type. Told "spin", the
 * handler loops for ever: the master kills the node with SIGABRT, saying
 * which node and service, and starts it again (well within 10 s), and the
 * new one answers. Node busy is never idle (a flood of short messages and
 * a Lua loop its budget interrupts several times a second) and must not
 * be taken for stuck over several watchdog periods. Then the master stops
 * every node cleanly. Every wait is bounded; the master is killed at the
 * end whatever happened, and the temporary directory removed. */
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>
#include "proc.h"
#include "testlib.h"

#define WAIT_MS 15000     /* any wait, under sanitizers too */
#define RESTART_MS 10000  /* from "spin" to the new node: 1 s + slack */
#define HEALTHY_MS 6000   /* busy runs this long (6 watchdogs) at least */

static const char *wisp_exe;
static char top[64], run_dir[96], conf[512], port_env[32], modules_env[600];
static int port;
static long long busy_since;
static struct proc master = { .label = "master" };

/* The first line of text holding both a and b, malloc'd, or NULL. */
static char *find_line(const char *text, const char *a, const char *b)
{
	for (const char *at = strstr(text, a); at; at = strstr(at + 1, a)) {
		const char *start = at;
		while (start > text && start[-1] != '\n')
			start--;
		char *line = strndup(start, strcspn(start, "\n"));
		if (strstr(line, b))
			return line;
		free(line);
	}
	return NULL;
}

/* Waits up to ms for a line holding a and b in a node's log: that line,
 * malloc'd, or NULL (a failure). */
static char *wait_log(const char *node, const char *a, const char *b, int ms)
{
	for (long long end = proc_now_ms() + ms; proc_now_ms() <= end;
			usleep(50000)) {
		char *all = proc_node_file(run_dir, node, "log");
		char *line = find_line(all, a, b);
		free(all);
		if (line)
			return line;
	}
	fprintf(stderr, "no \"%s\" ... \"%s\" in the log of %s within %d ms\n",
		a, b, node, ms);
	test_failures++;
	return NULL;
}

/* The master's line holding text, malloc'd, or NULL (a failure). */
static char *wait_master(const char *text, int ms)
{
	if (!proc_wait_output(&master, text, ms)) {
		fprintf(stderr, "no \"%s\" from the master within %d ms\n", text, ms);
		test_failures++;
		return NULL;
	}
	char *out = proc_output(&master, 0), *at = strstr(out, text);
	while (at > out && at[-1] != '\n')
		at--;
	char *line = strndup(at, strcspn(at, "\n"));
	free(out);
	return line;
}

/* Sends a command to the stall service and checks its answer. */
static void ask(const char *command, const char *answer)
{
	int fd = tcp_connect(port, WAIT_MS);
	CHECK(fd >= 0);
	if (fd < 0)
		return;
	char got[32] = "";
	CHECK_INT(tcp_write_all(fd, command, strlen(command)), 0);
	CHECK_INT(tcp_read_exact(fd, got, strlen(answer), WAIT_MS), 0);
	close(fd);
	CHECK_STR(got, answer);
}

static void test_start(void)
{
	free(wait_master("node stall started (pid ", WAIT_MS));
	free(wait_master("node busy started (pid ", WAIT_MS));
	free(wait_log("busy", "BUSY ", "", WAIT_MS));
	busy_since = proc_now_ms();
	free(wait_log("stall", "listening on ", "", WAIT_MS));
	ask("hello\n", "ok\n");
}

/* A handler of 300 ms, past handler_warn: a WARN from the node, under
 * the service's name, with the message type (4, a socket event). */
static void test_slow_handler(void)
{
	ask("slow 300\n", "slow done\n");
	char *line = wait_log("stall", " WARN  stall stall:", "a handler ran ",
		WAIT_MS);
	if (line == NULL)
		return;
	unsigned ms = 0;
	sscanf(strstr(line, "a handler ran "), "a handler ran %u ms", &ms);
	int right = strstr(line, " ms (message type 4); over handler_warn "
		"(200 ms)") != NULL && ms >= 290 && ms < 5000; /* whole ms: 299 */
	if (!right)
		fprintf(stderr, "the warning: %s\n", line);
	CHECK(right);
	free(line);
}

/* "spin": the handler never returns. The master names the node, the
 * service and the message type, kills the node with SIGABRT and starts
 * it again; the new node answers. */
static void test_stuck(void)
{
	pid_t pid = proc_started_pid(&master, "stall");
	CHECK(pid > 0);
	long long sent = proc_now_ms();
	int fd = tcp_connect(port, WAIT_MS);
	CHECK(fd >= 0 && tcp_write_all(fd, "spin\n", 5) == 0);
	char *line = wait_master("node stall stuck for ", RESTART_MS);
	if (line) {
		unsigned ms = 0;
		sscanf(strstr(line, "stuck for "), "stuck for %u ms", &ms);
		CHECK(ms >= 1000 && ms < RESTART_MS);
		CHECK(strstr(line, " ms in service stall :") != NULL);
		CHECK(strstr(line, " (message type 4); killing it with SIGABRT")
			!= NULL);
		free(line);
	}
	free(wait_master("node stall died: killed by signal 6 (SIGABRT) after "
		"it was stuck; restarting in 1000 ms", RESTART_MS));
	while (proc_started_pid(&master, "stall") == pid
		&& proc_now_ms() - sent < RESTART_MS)
		usleep(20000);
	long long took = proc_now_ms() - sent;
	fprintf(stderr, "stall: from spin to its restart %lld ms\n", took);
	CHECK(proc_started_pid(&master, "stall") != pid);
	CHECK(took < RESTART_MS);
	if (fd >= 0)
		close(fd);
	ask("hello again\n", "ok\n");
}

/* busy never idles, and a Lua handler of it loops until interrupted
 * several times a second: over HEALTHY_MS (six watchdogs) it is never
 * taken for stuck. */
static void test_busy_healthy(void)
{
	pid_t pid = proc_started_pid(&master, "busy");
	long long left = busy_since + HEALTHY_MS - proc_now_ms();
	if (left > 0)
		usleep((useconds_t)left * 1000);
	char *all = proc_node_file(run_dir, "busy", "log"), *last = NULL;
	for (char *at = strstr(all, "BUSY "); at; at = strstr(at + 1, "BUSY "))
		last = at;
	unsigned long handled = 0, interrupted = 0;
	CHECK(last && sscanf(last, "BUSY %lu %lu", &handled,
		&interrupted) == 2);
	fprintf(stderr, "busy: %lu messages, %lu interrupted loops\n", handled,
		interrupted);
	CHECK(handled > 10000);
	CHECK(interrupted >= 5);
	free(all);
	CHECK(proc_started_pid(&master, "busy") == pid);
	CHECK_INT(proc_output_at(&master, "node busy stuck"), -1);
	CHECK_INT(proc_output_at(&master, "node busy died"), -1);
}

/* SIGTERM: both nodes stop cleanly, and neither wrote to its stdout or
 * stderr (a sanitizer's report, a failed start). */
static void test_stop(void)
{
	CHECK_INT(kill(master.pid, SIGTERM), 0);
	CHECK_INT(proc_wait(&master, 30000), 0);
	CHECK(proc_output_at(&master, "every node stopped; exit 0") >= 0);
	const char *nodes[] = { "stall", "busy" };
	for (int i = 0; i < 2; i++)
		CHECK(proc_node_quiet(run_dir, nodes[i]));
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: test_watchdog WISP SOURCE_ROOT STALL_SO\n");
		return 2;
	}
	wisp_exe = argv[1];
	snprintf(conf, sizeof(conf), "%s/test/watchdog/watchdog.lua", argv[2]);
	snprintf(modules_env, sizeof(modules_env), "WISP_TEST_MODULES=%s",
		dirname(argv[3]));
	/* SIGABRT dumps a core where cores are on: not in the test's tree */
	struct rlimit none = { 0, 0 };
	setrlimit(RLIMIT_CORE, &none);
	snprintf(top, sizeof(top), "/tmp/wisp_watchdog_XXXXXX");
	CHECK(mkdtemp(top) != NULL);
	snprintf(run_dir, sizeof(run_dir), "%s/run", top);
	port = free_port();
	snprintf(port_env, sizeof(port_env), "WISP_PORT=%d", port);
	char *args[] = { (char *)wisp_exe, "--run-dir", run_dir, conf, NULL };
	char *env[] = { port_env, modules_env, NULL };
	proc_guard(&master, 1, 110); /* under meson's timeout of 120 s */
	CHECK_INT(proc_start(&master, args, env), 0);

	struct test_step steps[] = {
		{ "test_start", test_start },
		{ "test_slow_handler", test_slow_handler },
		{ "test_stuck", test_stuck },
		{ "test_busy_healthy", test_busy_healthy },
		{ "test_stop", test_stop },
	};
	RUN_STEPS(steps);
	if (test_failures)
		proc_dump(&master);
	proc_kill_all();
	proc_cleanup(&master);
	proc_remove_tree(top);
	return TEST_END();
}
