/* test_roots.c: root failover on loopback (test/cluster/roots.lua): roots
 * r1 and r2, nodes a and b, each its own `wisp` process. b runs the cases
 * (test/cluster/roots_cases.lua); this driver plays the outside world
 * around them, following the markers b logs: it kills r1 with -9 so that
 * the nodes join r2, then starts r1 again, which must not draw them back.
 * Every wait is bounded and every child is killed at the end, whatever
 * happened. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "proc.h"
#include "testlib.h"

#define NODE_PORTS 4  /* r1, r2, a, b */
#define B_CASES 4     /* the cases of roots_cases.lua */
#define MAX_PROCS 6

static const char *wisp_exe;
static char conf[512], port_base[64], gate[64], gate_env[96];
static struct proc procs[MAX_PROCS];
static int proc_count;

/* Starts `wisp roots.lua NODE`; its services come from the config. */
static struct proc *start_node(const char *node)
{
	int i = proc_count;
	if (i == MAX_PROCS)
		return NULL;
	char *env[] = { port_base, gate_env, NULL };
	char *args[] = { (char *)wisp_exe, conf, (char *)node, NULL };
	if (proc_start(&procs[i], args, env) < 0)
		return NULL;
	procs[i].label = node;
	proc_count++;
	return &procs[i];
}

static int has_output(const struct proc *p, const char *text)
{
	char *out = proc_output(p, 0);
	int found = strstr(out, text) != NULL;
	free(out);
	return found;
}

/* Whether p logged that it lost its link to node for another reason than
 * its own stop. */
static int lost_link(const struct proc *p, const char *node)
{
	char *out = proc_output(p, 0), want[64];
	snprintf(want, sizeof(want), "link to node %s lost: ", node);
	int lost = 0;
	for (char *line = strtok(out, "\n"); line; line = strtok(NULL, "\n"))
		if (strstr(line, want) && !strstr(line, "the node is stopping"))
			lost++;
	free(out);
	return lost;
}

/* Waits up to ms for a marker in p's log; a missing one is a failure. */
static int wait_marker(struct proc *p, const char *label, const char *text,
	int ms)
{
	if (p != NULL && proc_wait_output(p, text, ms))
		return 1;
	fprintf(stderr, "no \"%s\" from %s within %d ms\n", text, label, ms);
	test_failures++;
	return 0;
}

static void dump_logs(void)
{
	for (int i = 0; i < proc_count; i++)
		proc_dump(&procs[i]);
}

/* Both roots first, so that a and b join r1, the first of `roots`; then
 * b's cases, with the kill and the restart of r1 when they ask. */
static void run_failover(void)
{
	struct proc *r1 = start_node("r1");
	struct proc *r2 = start_node("r2");
	if (!wait_marker(r1, "r1", "READY probe r1", 10000)
		|| !wait_marker(r2, "r2", "READY probe r2", 10000))
		return;
	struct proc *a = start_node("a");
	if (!wait_marker(a, "a", "READY svc_a", 10000))
		return;
	struct proc *b = start_node("b");
	if (!wait_marker(b, "b", "KILL r1", 15000))
		return;

	kill(r1->pid, SIGKILL);
	CHECK_INT(proc_wait(r1, 5000), 128 + SIGKILL);
	if (!wait_marker(b, "b", "RESTART r1", 20000))
		return;
	r1 = start_node("r1");
	if (!wait_marker(r1, "the restarted r1", "READY probe r1", 10000))
		return;
	CHECK_INT(proc_gate_open(gate, "r1.restarted"), 0);

	CHECK_INT(proc_wait(b, 30000), 0);
	char done[64];
	snprintf(done, sizeof(done), "lua tests: %d passed, 0 failed", B_CASES);
	CHECK(has_output(b, done));
	char *err = proc_output(b, 1);
	CHECK_STR(err, "");
	free(err);
	/* each node lost r1 once, when it was killed, and never r2 */
	CHECK_INT(lost_link(a, "r1"), 1);
	CHECK_INT(lost_link(b, "r1"), 1);
	CHECK_INT(lost_link(a, "r2"), 0);
	CHECK_INT(lost_link(b, "r2"), 0);

	struct proc *rest[] = { a, r2, r1 };
	for (size_t i = 0; i < sizeof(rest) / sizeof(rest[0]); i++) {
		CHECK_INT(proc_stop_clean(rest[i], 5000), 0);
	}
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: test_roots WISP SOURCE_ROOT\n");
		return 2;
	}
	wisp_exe = argv[1];
	snprintf(conf, sizeof(conf), "%s/test/cluster/roots.lua", argv[2]);
	int base_port = free_port_run(NODE_PORTS);
	CHECK(base_port > 0);
	snprintf(port_base, sizeof(port_base), "WISP_PORT_BASE=%d", base_port);
	CHECK_INT(proc_gate_make(gate, sizeof(gate), "roots"), 0);
	snprintf(gate_env, sizeof(gate_env), "WISP_GATE=%s", gate);
	proc_guard(procs, MAX_PROCS, 60); /* the test takes about 10 s; meson's timeout is 120 s */

	if (base_port > 0)
		run_failover();
	proc_kill_all();
	if (test_failures)
		dump_logs();
	for (int i = 0; i < proc_count; i++)
		proc_cleanup(&procs[i]);
	proc_gate_remove(gate, "r1.restarted");
	return TEST_END();
}
