/* test_liveness.c: a harbor link stays up while a peer takes a large
 * frame slowly. game1 (test/cluster/liveness.lua) sends a 12 MB
 * incompressible payload to game2 while game2 is kept busy, so that game2
 * reads it over several seconds, with harbor.timeout at 1 s: game2's
 * pongs wait behind the payload, yet the link must not be taken for dead,
 * since game2 keeps taking bytes. Run over the Unix socket and over TCP. */
#include <stdio.h>
#include <string.h>
#include "proc.h"
#include "testlib.h"

#define NODE_PORTS 5 /* root, game1, game2, game3, rogue */
#define NODES 3

static const char *wisp_exe;
static char conf[512];

static int start_node(struct proc *p, const char *node, const char *script,
	char *port_env, char *same_host_env)
{
	static char timeout_env[] = "WISP_HARBOR_TIMEOUT=1000";
	char script_env[64];
	snprintf(script_env, sizeof(script_env), "WISP_SCRIPT=%s", script);
	char *env[] = { port_env, timeout_env, same_host_env, script_env, NULL };
	char *args[] = { (char *)wisp_exe, conf, (char *)node, NULL };
	p->label = node;
	return proc_start(p, args, env);
}

/* How often p took its link to node for dead (the peer's end, when the
 * test stops, is not counted). */
static int links_lost(const struct proc *p, const char *node)
{
	char text[64];
	snprintf(text, sizeof(text), "link to node %s lost", node);
	return proc_log_lines(p, text, "silent for");
}

static void run(const char *same_host)
{
	struct proc procs[NODES];
	memset(procs, 0, sizeof(procs));
	char port_env[64], same_host_env[64];
	int base = free_port_run(NODE_PORTS);
	CHECK(base > 0);
	snprintf(port_env, sizeof(port_env), "WISP_PORT_BASE=%d", base);
	snprintf(same_host_env, sizeof(same_host_env), "WISP_SAME_HOST=%s",
		same_host);
	proc_guard(procs, NODES, 100);
	int started = base > 0
		&& start_node(&procs[0], "root", "idle", port_env, same_host_env) == 0
		&& start_node(&procs[1], "game2", "peer pong2", port_env,
			same_host_env) == 0
		&& proc_wait_output(&procs[1], "READY pong2", 10000)
		&& start_node(&procs[2], "game1", "liveness", port_env,
			same_host_env) == 0;
	CHECK(started);
	if (started) {
		CHECK_INT(proc_wait(&procs[2], 60000), 0);
		CHECK(proc_log_has(&procs[2], "SIZE ANSWERED", ""));
		CHECK_INT(links_lost(&procs[2], "game2"), 0);
		CHECK_INT(links_lost(&procs[1], "game1"), 0);
	}
	if (test_failures)
		fprintf(stderr, "with WISP_SAME_HOST=%s:\n", same_host);
	proc_finish(procs, NODES, test_failures);
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: test_liveness WISP SOURCE_ROOT\n");
		return 2;
	}
	wisp_exe = argv[1];
	snprintf(conf, sizeof(conf), "%s/test/cluster/cluster.lua", argv[2]);
	run("1");
	if (test_failures == 0)
		run("0");
	return TEST_END();
}
