/* bench_harbor.c: runs one harbor benchmark on a real cluster on loopback
 * (test/cluster/cluster.lua): the root, node B (game2) running the
 * counter, and node A (game1) running the benchmark script; prints the
 * BENCH lines A logged, without the log prefix, and stops everyone.
 * harbor_call_busy is harbor_call on a busy host: one CPU-bound process
 * per core (nice 0) runs beside the nodes, as where one node per core is
 * deployed next to other work. The *_local_host figures go over the
 * same-host transport (a Unix socket); the others over TCP on loopback
 * (harbor.same_host = false), as between hosts. harbor_call_local_host
 * prints beside it the kernel's floor of such a call (unix_floor.h).
 * harbor_send_tls and harbor_call_tls run the same over TLS (keyed by the
 * cluster secret) and over plaintext TCP, alternating, and print both and
 * their ratio: the cost of TLS measured in one run. harbor_handshake_ms
 * starts a TLS cluster a few times and reads how long each link took to
 * come up, from dial to TLS done, as the harbor logs it. */
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
#include "unix_floor.h"

#define TLS_ROUNDS 3 /* of each, TLS and plaintext, alternating */
#define HANDSHAKE_STARTS 3
#define SAMPLES_MAX 64

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
	"harbor_send_tls", "harbor_call_tls", "harbor_handshake_ms", NULL };

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

/* Env of the next cluster: the name A's script prints its figure under,
 * the transport and TLS ("psk", or NULL for plaintext). */
static void set_env(const char *bench_name, int local, const char *tls)
{
	setenv("WISP_BENCH_NAME", bench_name, 1);
	setenv("WISP_SAME_HOST", local ? "1" : "0", 1);
	if (tls)
		setenv("WISP_HARBOR_TLS", tls, 1);
	else
		unsetenv("WISP_HARBOR_TLS");
}

/* One cluster: root, B (game2, the counter) and A (game1, script) until A
 * exits. 0 when A exited 0; its output is then in procs[2]. */
static int run_cluster(const char *wisp, const char *conf, const char *script,
	int busy)
{
	char port_env[64], counter_env[64], bench_env[64];
	int base = free_port_run(NODE_PORTS);
	if (base < 0) {
		fprintf(stderr, "no free ports for the cluster\n");
		return -1;
	}
	snprintf(port_env, sizeof(port_env), "WISP_PORT_BASE=%d", base);
	snprintf(counter_env, sizeof(counter_env), "WISP_SCRIPT=bench_counter");
	snprintf(bench_env, sizeof(bench_env), "WISP_SCRIPT=%s", script);
	int code = -1;
	if (start(0, wisp, conf, "root", NULL, port_env) == 0
		&& start(1, wisp, conf, "game2", counter_env, port_env) == 0
		&& proc_wait_output(&procs[1], "READY counter", 10000)
		&& start(2, wisp, conf, "game1", bench_env, port_env) == 0) {
		if (busy)
			start_burners();
		code = proc_wait(&procs[2], 550000);
		stop_burners();
	}
	if (code != 0)
		for (int i = 0; i < 3; i++)
			proc_dump(&procs[i]);
	return code;
}

static void end_cluster(void)
{
	proc_kill_all();
	for (int i = 0; i < 3; i++)
		proc_cleanup(&procs[i]);
}

/* The value A printed as "BENCH name VALUE", or -1. */
static double bench_value(const char *name)
{
	char *out = proc_output(&procs[2], 0), want[96];
	snprintf(want, sizeof(want), "BENCH %s ", name);
	char *at = strstr(out, want);
	double v = at ? strtod(at + strlen(want), NULL) : -1;
	free(out);
	return v;
}

/* What TLS costs one small message, encrypted and decrypted, in us: the
 * tls_message_us of bench_harbor_tls (test/unit/test_harbor_tls.c), run
 * as tls_bench says ("PROGRAM MAKE_CERTS"). -1 if it fails. */
static double tls_message_us(const char *tls_bench)
{
	char cmd[1100];
	snprintf(cmd, sizeof(cmd), "%s --bench", tls_bench);
	FILE *f = popen(cmd, "r");
	char line[256];
	double us = -1;
	while (f && fgets(line, sizeof(line), f))
		if (strncmp(line, "BENCH tls_message_us ", 21) == 0)
			us = strtod(line + 21, NULL);
	if (f == NULL || pclose(f) != 0)
		return -1;
	return us;
}

/* A serial call over TLS is a plaintext one plus two messages through
 * TLS: the most calls/s it allows beside the plaintext figure. */
static void print_call_floor(double plain, double message_us)
{
	double floor = 1e6 / (1e6 / plain + 2 * message_us);
	printf("BENCH harbor_call_tls_floor %.0f calls/s (plaintext's call "
		"+ 2 x tls_message_us %.2f us)\n", floor, message_us);
}

/* figure over TLS and over plaintext TCP, alternating; the best of each
 * and their ratio; for calls, the floor TLS's cost per message sets. */
static int tls_beside_plain(const char *wisp, const char *conf,
	const char *figure, const char *tls_bench)
{
	char plain[64];
	snprintf(plain, sizeof(plain), "%.*s_plain_beside_tls",
		(int)(strlen(figure) - 4), figure);
	double best_tls = -1, best_plain = -1;
	for (int round = 0; round < TLS_ROUNDS; round++) {
		for (int tls = 1; tls >= 0; tls--) {
			const char *name = tls ? figure : plain;
			set_env(name, 0, tls ? "psk" : NULL);
			int code = run_cluster(wisp, conf, script_of(figure), 0);
			double v = code == 0 ? bench_value(name) : -1;
			end_cluster();
			if (v < 0)
				return -1;
			double *best = tls ? &best_tls : &best_plain;
			*best = v > *best ? v : *best;
		}
	}
	const char *unit = strncmp(figure, "harbor_send", 11) == 0 ? "msg/s"
		: "calls/s";
	printf("BENCH %s %.0f %s\n", figure, best_tls, unit);
	printf("BENCH %s %.0f %s\n", plain, best_plain, unit);
	printf("BENCH %s_ratio %.3f tls/plain\n", figure, best_tls / best_plain);
	if (strcmp(unit, "calls/s") == 0) {
		double us = tls_message_us(tls_bench);
		if (us < 0)
			return -1;
		print_call_floor(best_plain, us);
	}
	return 0;
}

static int by_value(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* The "is up (tcp, TLS) in X ms" of every process's log. */
static int handshake_samples(double *samples, int n)
{
	static const char mark[] = "(tcp, TLS) in ";
	for (int i = 0; i < 3; i++) {
		char *out = proc_output(&procs[i], 0);
		for (char *at = strstr(out, mark); at && n < SAMPLES_MAX;
				at = strstr(at + 1, mark))
			samples[n++] = strtod(at + sizeof(mark) - 1, NULL);
		free(out);
	}
	return n;
}

/* Clusters over TLS, started HANDSHAKE_STARTS times: A calls B once, so
 * links come up A->root, root->A, A->B, B->A and B->root. The median of
 * their times from dial to TLS done, and the least. */
static int handshake_ms(const char *wisp, const char *conf)
{
	double samples[SAMPLES_MAX];
	int n = 0;
	for (int i = 0; i < HANDSHAKE_STARTS; i++) {
		set_env("harbor_handshake_ms", 0, "psk");
		int code = run_cluster(wisp, conf, "bench_link", 0);
		if (code == 0)
			n = handshake_samples(samples, n);
		end_cluster();
		if (code != 0)
			return -1;
	}
	if (n == 0) {
		fprintf(stderr, "no link came up over TLS\n");
		return -1;
	}
	qsort(samples, (size_t)n, sizeof(*samples), by_value);
	printf("BENCH harbor_handshake_ms %.2f ms\n", samples[n / 2]);
	printf("BENCH harbor_handshake_min_ms %.2f ms\n", samples[0]);
	return 0;
}

/* The floor of harbor_call_local_host: 1, or 0 when it failed. */
static int print_unix_floor(void)
{
	double floor = unix_round_trip_floor();
	if (floor < 0) {
		perror("unix_round_trip_floor");
		return 0;
	}
	printf("BENCH harbor_call_local_host_floor %.0f calls/s (two processes "
		"bouncing 40 bytes over a Unix socket pair, polling)\n", floor);
	return 1;
}

int main(int argc, char **argv)
{
	if (argc < 4 || !known_figure(argv[3])
		|| (strstr(argv[3], "_tls") && argc != 5)) {
		fprintf(stderr, "usage: bench_harbor WISP SOURCE_ROOT FIGURE "
			"[\"BENCH_HARBOR_TLS MAKE_CERTS\" for the _tls ones], "
			"FIGURE one of:");
		for (int i = 0; figures[i]; i++)
			fprintf(stderr, " %s", figures[i]);
		fprintf(stderr, "\n");
		return 2;
	}
	const char *figure = argv[3];
	char conf[512];
	snprintf(conf, sizeof(conf), "%s/test/cluster/cluster.lua", argv[2]);
	proc_guard(procs, 3, 0);
	if (strcmp(figure, "harbor_handshake_ms") == 0)
		return handshake_ms(argv[1], conf) == 0 ? 0 : 1;
	if (strstr(figure, "_tls"))
		return tls_beside_plain(argv[1], conf, figure, argv[4]) == 0 ? 0 : 1;
	set_env(figure, strstr(figure, "_local_host") != NULL, NULL);
	int code = run_cluster(argv[1], conf, script_of(figure),
		strcmp(figure, "harbor_call_busy") == 0);
	int found = code == 0 ? proc_print_bench(&procs[2]) : 0;
	if (code == 0 && found == 0)
		fprintf(stderr, "benchmark %s printed nothing\n", figure);
	end_cluster();
	if (code == 0 && found && strcmp(figure, "harbor_call_local_host") == 0)
		found = print_unix_floor();
	return code == 0 && found ? 0 : 1;
}
