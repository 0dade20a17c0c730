/* test_memcached.c: runs test/lua/test_memcached.lua in a node against a
 * real memcached on a free loopback port, and plays the failures that
 * script asks for when it logs "memcached-driver: <what>": stop (SIGSTOP,
 * a server that hangs), continue, kill, and start again on the same port.
 * Passes if the node reports no failed case and exits 0. */
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include "proc.h"
#include "testlib.h"

#define MEMCACHED "/usr/bin/memcached"

enum { MC, NODE };
static struct proc procs[2];
static char port_arg[16];

/* memcached refuses to run as root without -u; -u is ignored otherwise. */
static int start_memcached(void)
{
	const struct passwd *pw = getpwuid(geteuid());
	char *args[] = { MEMCACHED, "-l", "127.0.0.1", "-p", port_arg, "-U", "0",
		"-m", "64", "-vv", "-u", pw ? pw->pw_name : "root", NULL };
	procs[MC].label = "memcached";
	if (proc_start(&procs[MC], args, NULL) < 0)
		return -1;
	int fd = tcp_connect(atoi(port_arg), 10000);
	if (fd < 0)
		return -1;
	close(fd);
	return 0;
}

/* Waits for the script to log marker: 1, or 0 if it ended first or did
 * not ask within 30 s. */
static int await_marker(const char *marker)
{
	for (int waited = 0; waited < 30000; waited += 40) {
		if (proc_wait_output(&procs[NODE], marker, 0))
			return 1;
		if (proc_wait_output(&procs[NODE], "lua tests: ", 0))
			return 0;
	}
	return 0;
}

static void restart_memcached(void)
{
	struct proc first = procs[MC];
	CHECK_INT(start_memcached(), 0);
	proc_cleanup(&first);
}

/* Does what the script asks, in the order it asks; stops at the first
 * request that does not come (the script failed before it). */
static void play_failures(void)
{
	static const char *const steps[] = { "stop", "continue", "kill", "start" };
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		char marker[64];
		snprintf(marker, sizeof(marker), "memcached-driver: %s", steps[i]);
		if (!await_marker(marker)) {
			fprintf(stderr, "no '%s' from the script\n", marker);
			test_failures++;
			return;
		}
		if (i == 0) {
			kill(procs[MC].pid, SIGSTOP);
		} else if (i == 1) {
			kill(procs[MC].pid, SIGCONT);
		} else if (i == 2) {
			kill(procs[MC].pid, SIGKILL);
			CHECK_INT(proc_wait(&procs[MC], 5000), 128 + SIGKILL);
		} else {
			restart_memcached();
		}
	}
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: test_memcached WISP SOURCE_ROOT\n");
		return 2;
	}
	if (access(MEMCACHED, X_OK) != 0) {
		fprintf(stderr, "no %s: skipped\n", MEMCACHED);
		return 77;
	}
	char conf[512], addr[64], dead[64], log[200];
	snprintf(conf, sizeof(conf), "%s/test/lua/node.lua", argv[2]);
	int port = free_port(), dead_port = free_port();
	while (dead_port == port)
		dead_port = free_port();
	snprintf(port_arg, sizeof(port_arg), "%d", port);
	proc_guard(procs, 2, 110);
	CHECK_INT(start_memcached(), 0);
	snprintf(addr, sizeof(addr), "WISP_MEMCACHED=127.0.0.1:%d", port);
	snprintf(dead, sizeof(dead), "WISP_MEMCACHED_DEAD=127.0.0.1:%d", dead_port);
	snprintf(log, sizeof(log), "WISP_MEMCACHED_LOG=%s", procs[MC].err);
	char *args[] = { argv[1], conf, "test", NULL };
	char *env[] = { "WISP_TEST=test_memcached", addr, dead, log, NULL };
	procs[NODE].label = "node";
	CHECK_INT(proc_start(&procs[NODE], args, env), 0);

	play_failures();
	CHECK_INT(proc_wait(&procs[NODE], 60000), 0);
	char *out = proc_output(&procs[NODE], 0), *err = proc_output(&procs[NODE], 1);
	CHECK(strstr(out, " passed, 0 failed") != NULL);
	CHECK_STR(err, "");
	fputs(out, stdout);
	if (test_failures)
		proc_dump(&procs[NODE]);
	free(out);
	free(err);
	if (procs[MC].running) {
		kill(procs[MC].pid, SIGCONT); /* in case a failure left it stopped */
		proc_stop(&procs[MC], 5000);
	}
	proc_cleanup(&procs[NODE]);
	proc_cleanup(&procs[MC]);
	return TEST_END();
}
