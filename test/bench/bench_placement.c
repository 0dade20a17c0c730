/* bench_placement.c: the agent_login benchmark on a real cluster on
 * loopback (test/bench/placement/cluster.lua): a root, a net node and
 * three game nodes, each its own process. wisp-load keeps 1,000 clients
 * logging in, one login in flight each; every login picks a game node
 * for its connection (wisp.pick), starts an agent there
 * (wisp.newservice_at), binds the connection to it (wisp.bind) and
 * retires the agent of the connection's last login. It prints "BENCH
 * agent_login N logins/s", the best of ROUNDS runs, the details on
 * stderr. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../integration/proc.h"

#define NODE_PORTS 6 /* root, net, game1..game3's harbors; the gate */
#define GATE_OFFSET 5
#define NODES 5
#define ROUNDS 3
#define START_MS 20000

static struct proc procs[NODES + 1];
static struct proc *const load = &procs[NODES];
static const char *const names[NODES] = { "root", "game1", "game2", "game3",
	"net" };

static int start_cluster(const char *wisp, const char *root, int base)
{
	static char conf[512], port_env[64];
	snprintf(conf, sizeof(conf), "%s/test/bench/placement/cluster.lua", root);
	snprintf(port_env, sizeof(port_env), "WISP_PORT_BASE=%d", base);
	char *env[] = { port_env, NULL };
	for (int i = 0; i < NODES; i++) {
		char *args[] = { (char *)wisp, conf, (char *)names[i], NULL };
		procs[i].label = names[i];
		if (proc_start(&procs[i], args, env) < 0)
			return -1;
	}
	return proc_wait_output(&procs[NODES - 1], "READY login", START_MS)
		? 0 : -1;
}

static double one_round(const char *wisp_load, int port)
{
	char target[64];
	snprintf(target, sizeof(target), "127.0.0.1:%d", port);
	char *args[] = { (char *)wisp_load, "--connections", "1000",
		"--outstanding", "1", "--duration", "3", "--mix", "101:8", target,
		NULL };
	return proc_run_load(load, args, "bench_placement");
}

static int run(const char *wisp_load, int port)
{
	double best = -1;
	for (int i = 0; i < ROUNDS; i++) {
		double rate = one_round(wisp_load, port);
		if (rate < 0)
			return -1;
		if (rate > best)
			best = rate;
	}
	printf("BENCH agent_login %.0f logins/s\n", best);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: bench_placement WISP SOURCE_ROOT WISP_LOAD\n");
		return 2;
	}
	int base = free_port_run(NODE_PORTS);
	if (base < 0) {
		fprintf(stderr, "no free ports for the cluster\n");
		return 1;
	}
	proc_guard(procs, NODES + 1, 300); /* under meson's timeout of 600 s */
	int ok = start_cluster(argv[1], argv[2], base) == 0
		&& run(argv[3], base + GATE_OFFSET) == 0;
	int clean = 1;
	for (int i = NODES; i-- > 0;)
		if (procs[i].running && proc_stop(&procs[i], START_MS) != 0)
			clean = 0;
	if (!ok || !clean) {
		fprintf(stderr, "benchmark agent_login failed\n");
		for (int i = 0; i < NODES; i++)
			proc_dump(&procs[i]);
	}
	proc_kill_all();
	for (int i = 0; i < NODES; i++)
		proc_cleanup(&procs[i]);
	return ok && clean ? 0 : 1;
}
