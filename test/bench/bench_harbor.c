/* bench_harbor.c: runs one harbor benchmark on a real cluster on loopback
 * (test/cluster/cluster.lua): the root, node B (game2) running the
 * counter, and node A (game1) running the benchmark script; prints the
 * BENCH lines A logged, without the log prefix, and stops everyone. */
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
static int running[3];

static void kill_all(void)
{
	for (int i = 0; i < 3; i++)
		if (running[i]) {
			kill(procs[i].pid, SIGKILL);
			waitpid(procs[i].pid, NULL, 0);
			running[i] = 0;
		}
}

static void on_fatal_signal(int sig)
{
	kill_all();
	signal(sig, SIG_DFL);
	raise(sig);
}

static int port_free(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET,
		.sin_port = htons((uint16_t)port),
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int ok = bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
	close(fd);
	return ok;
}

/* Free ports in a row, below the usual ephemeral range. */
static int pick_port_base(void)
{
	srand((unsigned)getpid() ^ (unsigned)time(NULL));
	for (int tries = 0; tries < 200; tries++) {
		int base = 20000 + rand() % 12000, ok = 1;
		for (int i = 0; ok && i < NODE_PORTS; i++)
			ok = port_free(base + i);
		if (ok)
			return base;
	}
	return -1;
}

static int start(int i, const char *wisp, const char *conf, const char *node,
	char *script_env, char *port_env)
{
	char *args[] = { (char *)wisp, (char *)conf, (char *)node, NULL };
	char *env[] = { port_env, script_env, NULL };
	if (proc_start(&procs[i], args, env) < 0)
		return -1;
	running[i] = 1;
	return 0;
}

/* Polls p's stdout for text for up to ms. */
static int wait_output(const struct proc *p, const char *text, int ms)
{
	for (int waited = 0; waited <= ms; waited += 20) {
		char *out = proc_output(p, 0);
		int found = strstr(out, text) != NULL;
		free(out);
		if (found)
			return 1;
		usleep(20000);
	}
	return 0;
}

static int print_bench_lines(const struct proc *p)
{
	char *out = proc_output(p, 0);
	int found = 0;
	for (char *line = strtok(out, "\n"); line; line = strtok(NULL, "\n")) {
		char *bench = strstr(line, "BENCH ");
		if (bench) {
			puts(bench);
			found++;
		}
	}
	free(out);
	return found;
}

static void dump(const char *name, const struct proc *p)
{
	char *out = proc_output(p, 0), *err = proc_output(p, 1);
	fprintf(stderr, "==== %s stdout:\n%s==== %s stderr:\n%s\n", name, out, name,
		err);
	free(out);
	free(err);
}

int main(int argc, char **argv)
{
	if (argc != 4 || (strcmp(argv[3], "harbor_send") != 0
			&& strcmp(argv[3], "harbor_call") != 0)) {
		fprintf(stderr, "usage: bench_harbor WISP SOURCE_ROOT harbor_send|"
			"harbor_call\n");
		return 2;
	}
	char conf[512], port_env[64], counter_env[64], bench_env[64];
	snprintf(conf, sizeof(conf), "%s/test/cluster/cluster.lua", argv[2]);
	int base = pick_port_base();
	if (base < 0) {
		fprintf(stderr, "no free ports for the cluster\n");
		return 1;
	}
	snprintf(port_env, sizeof(port_env), "WISP_PORT_BASE=%d", base);
	snprintf(counter_env, sizeof(counter_env), "WISP_SCRIPT=bench_counter");
	snprintf(bench_env, sizeof(bench_env), "WISP_SCRIPT=bench_%s",
		argv[3] + strlen("harbor_"));
	signal(SIGTERM, on_fatal_signal);
	signal(SIGINT, on_fatal_signal);

	int code = -1, found = 0;
	if (start(0, argv[1], conf, "root", NULL, port_env) == 0
		&& start(1, argv[1], conf, "game2", counter_env, port_env) == 0
		&& wait_output(&procs[1], "READY counter", 10000)
		&& start(2, argv[1], conf, "game1", bench_env, port_env) == 0) {
		code = proc_wait(&procs[2], 550000);
		running[2] = 0;
		found = print_bench_lines(&procs[2]);
	}
	if (code != 0 || found == 0) {
		fprintf(stderr, "benchmark %s failed (exit %d)\n", argv[3], code);
		dump("root", &procs[0]);
		dump("game2 (B)", &procs[1]);
		dump("game1 (A)", &procs[2]);
	}
	kill_all();
	for (int i = 0; i < 3; i++)
		proc_cleanup(&procs[i]);
	return code == 0 && found ? 0 : 1;
}
