/* bench_harbor.c: runs one harbor benchmark on a real cluster on loopback
 * (test/cluster/cluster.lua): the root, node B (game2) running the
 * counter, and node A (game1) running the benchmark script; prints the
 * BENCH lines A logged, without the log prefix, and stops everyone.
 * harbor_call_busy is harbor_call on a busy host: one CPU-bound process
 * per core (nice 0) runs beside the nodes, as where one node per core is
 * deployed next to other work. The *_local_host figures go over the
 * same-host transport (a Unix socket); the others over TCP on loopback
 * (harbor.same_host = false), as between hosts. */
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "../integration/proc.h"

#define NODE_PORTS 5 /* root, game1, game2, game3, rogue */

static struct proc procs[3];
static pid_t burners[64];
static int burner_count;

/* One process spinning on each core until killed (or after 10 minutes). */
static void start_burners(void)
{
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	for (long i = 0; i < cores && burner_count < 64; i++) {
		pid_t pid = fork();
		if (pid == 0) {
			alarm(600);
			for (volatile unsigned long n = 0;; n++)
				;
		}
		if (pid > 0)
			burners[burner_count++] = pid;
	}
}

static void stop_burners(void)
{
	for (int i = 0; i < burner_count; i++) {
		kill(burners[i], SIGKILL);
		waitpid(burners[i], NULL, 0);
	}
	burner_count = 0;
}

static const char *const figures[] = { "harbor_send", "harbor_call",
	"harbor_call_busy", "harbor_send_local_host", "harbor_call_local_host",
	NULL };

static int known_figure(const char *name)
{
	for (int i = 0; figures[i]; i++)
		if (strcmp(figures[i], name) == 0)
			return 1;
	return 0;
}

/* The script of node A: bench_send or bench_call. */
static const char *script_of(const char *figure)
{
	return strncmp(figure, "harbor_send", 11) == 0 ? "bench_send"
		: "bench_call";
}

static int start(int i, const char *wisp, const char *conf, const char *node,
	char *script_env, char *port_env)
{
	char *args[] = { (char *)wisp, (char *)conf, (char *)node, NULL };
	char *env[] = { port_env, script_env, NULL };
	procs[i].label = node;
	return proc_start(&procs[i], args, env) < 0 ? -1 : 0;
}

int main(int argc, char **argv)
{
	if (argc != 4 || !known_figure(argv[3])) {
		fprintf(stderr, "usage: bench_harbor WISP SOURCE_ROOT harbor_send|"
			"harbor_call|harbor_call_busy|harbor_send_local_host|"
			"harbor_call_local_host\n");
		return 2;
	}
	int busy = strcmp(argv[3], "harbor_call_busy") == 0;
	int local = strstr(argv[3], "_local_host") != NULL;
	char conf[512], port_env[64], counter_env[64], bench_env[64];
	char name_env[64], same_host_env[64];
	snprintf(conf, sizeof(conf), "%s/test/cluster/cluster.lua", argv[2]);
	int base = free_port_run(NODE_PORTS);
	if (base < 0) {
		fprintf(stderr, "no free ports for the cluster\n");
		return 1;
	}
	snprintf(port_env, sizeof(port_env), "WISP_PORT_BASE=%d", base);
	snprintf(counter_env, sizeof(counter_env), "WISP_SCRIPT=bench_counter");
	snprintf(bench_env, sizeof(bench_env), "WISP_SCRIPT=%s",
		script_of(argv[3]));
	snprintf(name_env, sizeof(name_env), "WISP_BENCH_NAME=%s", argv[3]);
	snprintf(same_host_env, sizeof(same_host_env), "WISP_SAME_HOST=%d",
		local);
	putenv(name_env);
	putenv(same_host_env);
	proc_guard(procs, 3, 0);

	int code = -1, found = 0;
	if (start(0, argv[1], conf, "root", NULL, port_env) == 0
		&& start(1, argv[1], conf, "game2", counter_env, port_env) == 0
		&& proc_wait_output(&procs[1], "READY counter", 10000)
		&& start(2, argv[1], conf, "game1", bench_env, port_env) == 0) {
		if (busy)
			start_burners();
		code = proc_wait(&procs[2], 550000);
		stop_burners();
		found = proc_print_bench(&procs[2]);
	}
	if (code != 0 || found == 0) {
		fprintf(stderr, "benchmark %s failed (exit %d)\n", argv[3], code);
		for (int i = 0; i < 3; i++)
			proc_dump(&procs[i]);
	}
	proc_kill_all();
	for (int i = 0; i < 3; i++)
		proc_cleanup(&procs[i]);
	return code == 0 && found ? 0 : 1;
}
