/* bench_gate.c: the gate benchmarks, each on a real net node
 * (test/bench/gate/gate.lua), the figure named by the last argument:
 *   gate_echo          wisp-load in a child process, 1,000 clients
 *                      echoing 64-byte frames through a Lua handler;
 *   gate_conn_kb       what 10,000 idle clients add to the node's resident
 *                      memory, per client;
 *   gate_broadcast_ms  with 10,000 clients open, from one client sending
 *                      the command that broadcasts until all 10,000 have
 *                      read the frame: the best of 5 runs;
 *   gate_agent_echo    gate_echo's load on a cluster (test/bench/gate/
 *                      agents.lua): each client bound to an agent of its
 *                      own on one of two game nodes, which echoes.
 * It prints one line "BENCH name value unit", the details on stderr. The
 * 10,000 clients live here, in one epoll loop. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#include "../integration/proc.h"
#include "wisp_client.h"

#define CLIENTS 10000
/* Connects whose echoes are awaited before the next ones start: well
 * under the gate's listen backlog, so that no SYN is dropped. */
#define BATCH 1000
#define BODY 64
#define CMD_ECHO 1
#define CMD_BROADCAST 2
#define CMD_BROADCAST_FRAME 3 /* what CMD_BROADCAST sends everyone */
#define RUNS 5
#define STEP_MS 20000 /* the longest any one step may take */
#define EVENTS 256

static const struct wisp_client_proto proto = {
	.magic = { 'W', 'I', 'S', 'P' },
	.proto_version = 1,
	.server_version = 1,
	.max_body = 65536,
};

/* The benchmark's clients and what they have read. */
struct fleet {
	struct wisp_cli *cli[CLIENTS];
	int count;
	int ep;
	uint32_t want;   /* the command of the frames awaited */
	long got;        /* frames of it, BODY bytes long */
	long other;      /* any other frame */
	double first_ms; /* when the first of them was read */
	uint8_t buf[64 * 1024];
};

/* The net node, wisp-load and gate_agent_echo's other nodes, killed
 * whatever happens. */
static struct proc procs[5];
static struct proc *const node = &procs[0], *const load = &procs[1];
static struct proc *const others = &procs[2]; /* root, game2, game1 */
static uint8_t body[BODY];

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* 10,000 clients need more descriptors than the usual soft limit. */
static int raise_fd_limit(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return -1;
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur < CLIENTS + 64) {
		fprintf(stderr, "bench_gate: the open-file limit (%llu) is below the "
			"%d clients\n", (unsigned long long)rl.rlim_cur, CLIENTS);
		return -1;
	}
	return 0;
}

static int start_node(const char *wisp, const char *root, int port)
{
	static char conf[512], port_env[64];
	snprintf(conf, sizeof(conf), "%s/test/bench/gate/gate.lua", root);
	snprintf(port_env, sizeof(port_env), "WISP_GATE_PORT=%d", port);
	char *args[] = { (char *)wisp, conf, "net", NULL };
	char *env[] = { port_env, NULL };
	node->label = "net";
	if (proc_start(node, args, env) < 0)
		return -1;
	return proc_wait_output(node, "READY gate_bench", STEP_MS) ? 0 : -1;
}

/* ---- gate_agent_echo's cluster ---- */

static int start_cluster_node(struct proc *p, const char *wisp,
	const char *conf, char *env[], const char *name, const char *ready)
{
	char *args[] = { (char *)wisp, (char *)conf, (char *)name, NULL };
	p->label = name;
	if (proc_start(p, args, env) < 0)
		return -1;
	if (proc_wait_output(p, ready, STEP_MS))
		return 0;
	fprintf(stderr, "bench_gate: no \"%s\" from %s\n", ready, name);
	return -1;
}

/* root, game2, game1 (whose front takes game2's agents), then net; the
 * gate's port is base + 4. */
static int start_agents(const char *wisp, const char *root, int base)
{
	static char conf[512], base_env[64];
	snprintf(conf, sizeof(conf), "%s/test/bench/gate/agents.lua", root);
	snprintf(base_env, sizeof(base_env), "WISP_PORT_BASE=%d", base);
	char *env[] = { base_env, NULL };
	return start_cluster_node(&others[0], wisp, conf, env, "root",
			"(id 1) starting") == 0
		&& start_cluster_node(&others[1], wisp, conf, env, "game2",
			"(id 4) starting") == 0
		&& start_cluster_node(&others[2], wisp, conf, env, "game1",
			"READY agent_front") == 0
		&& start_cluster_node(node, wisp, conf, env, "net",
			"gate listening for clients") == 0 ? 0 : -1;
}

/* Stops the game nodes and the root; the front on game1 says how many
 * frames came before their client's bind. */
static int stop_agents(void)
{
	int failed = 0;
	for (int i = 2; i >= 0; i--) {
		struct proc *p = &others[i];
		if (p->running && proc_stop(p, STEP_MS) != 0) {
			failed = 1;
			proc_dump(p);
		}
		if (i == 2 && p->pid) {
			char *out = proc_output(p, 0);
			const char *at = strstr(out, "front: ");
			if (at)
				fprintf(stderr, "%.*s\n", (int)strcspn(at, "\n"), at);
			free(out);
		}
		proc_cleanup(p);
	}
	return failed ? -1 : 0;
}

/* ---- gate_echo ---- */

/* wisp-load's "summary: N frames/s, ..., errors E, failed connections F
 * of ..." line: the rate, or -1 when it is missing or shows a failure. */
static double parse_summary(const char *out)
{
	const char *at = strstr(out, "summary: ");
	double rate;
	unsigned long long errors;
	long failed;
	if (at == NULL || sscanf(at, "summary: %lf frames/s, p50 %*f ms, p99 %*f "
			"ms, errors %llu, failed connections %ld", &rate, &errors,
			&failed) != 3) {
		fprintf(stderr, "bench_gate: no summary from wisp-load\n");
		return -1;
	}
	if (errors != 0 || failed != 0) {
		fprintf(stderr, "bench_gate: wisp-load saw %llu errors and %ld "
			"failed connections\n", errors, failed);
		return -1;
	}
	return rate;
}

static int bench_echo(const char *name, const char *wisp_load, int port)
{
	char target[64];
	snprintf(target, sizeof(target), "127.0.0.1:%d", port);
	char *args[] = { (char *)wisp_load, "--connections", "1000",
		"--outstanding", "8", "--duration", "5", "--mix", "1:64", target,
		NULL };
	load->label = "wisp-load";
	if (proc_start(load, args, NULL) < 0)
		return -1;
	int code = proc_wait(load, 60000);
	char *out = proc_output(load, 0);
	fprintf(stderr, "%s", out);
	double rate = code == 0 ? parse_summary(out) : -1;
	if (code != 0)
		proc_dump(load);
	free(out);
	proc_cleanup(load);
	if (rate < 0)
		return -1;
	printf("BENCH %s %.0f frames/s\n", name, rate);
	return 0;
}

/* ---- the 10,000 clients ---- */

static void on_frame(void *ud, const struct wisp_client_frame *f)
{
	struct fleet *fl = ud;
	if (f->command != fl->want || f->size != BODY)
		fl->other++;
	else if (fl->got++ == 0)
		fl->first_ms = now_ms();
}

/* Reads until fl->got reaches want, within STEP_MS. */
static int await_frames(struct fleet *fl, long want)
{
	double deadline = now_ms() + STEP_MS;
	struct epoll_event ev[EVENTS];
	while (fl->got < want && fl->other == 0) {
		int left = (int)(deadline - now_ms());
		int n = left > 0 ? epoll_wait(fl->ep, ev, EVENTS, left) : 0;
		if (n <= 0 && (n == 0 || errno != EINTR)) {
			fprintf(stderr, "bench_gate: %ld of %ld frames within %d ms\n",
				fl->got, want, STEP_MS);
			return -1;
		}
		for (int i = 0; i < n; i++) {
			struct wisp_cli *c = fl->cli[ev[i].data.u32];
			if (wisp_cli_read(c, fl->buf, sizeof(fl->buf), on_frame, fl) < 0) {
				fprintf(stderr, "bench_gate: client %u: %s\n", ev[i].data.u32,
					wisp_cli_error(c));
				return -1;
			}
		}
	}
	if (fl->other)
		fprintf(stderr, "bench_gate: %ld unexpected frames\n", fl->other);
	return fl->other ? -1 : 0;
}

/* Connects one more client and sends it an echo. */
static int add_client(struct fleet *fl, int port)
{
	struct wisp_cli *c = wisp_cli_new(&proto);
	uint32_t i = (uint32_t)fl->count;
	fl->cli[fl->count++] = c;
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = i };
	if (wisp_cli_connect(c, "127.0.0.1", port, STEP_MS) < 0
		|| wisp_cli_send(c, CMD_ECHO, body, BODY, STEP_MS) < 0) {
		fprintf(stderr, "bench_gate: client %u: %s\n", i, wisp_cli_error(c));
		return -1;
	}
	return epoll_ctl(fl->ep, EPOLL_CTL_ADD, wisp_cli_fd(c), &ev);
}

/* Opens CLIENTS clients, a batch at a time; each is known accepted once
 * its echo has come back. */
static int open_fleet(struct fleet *fl, int port)
{
	fl->ep = epoll_create1(EPOLL_CLOEXEC);
	fl->want = CMD_ECHO;
	while (fl->count < CLIENTS) {
		for (int i = 0; i < BATCH && fl->count < CLIENTS; i++)
			if (add_client(fl, port) < 0)
				return -1;
		if (await_frames(fl, fl->count) < 0)
			return -1;
	}
	return 0;
}

static void close_fleet(struct fleet *fl)
{
	for (int i = 0; i < fl->count; i++)
		wisp_cli_free(fl->cli[i]);
	if (fl->ep >= 0)
		close(fl->ep);
}

/* ---- gate_conn_kb ---- */

static int bench_conn_kb(struct fleet *fl, int port)
{
	long before = proc_rss_kb(node->pid);
	if (before < 0 || open_fleet(fl, port) < 0)
		return -1;
	long after = proc_rss_kb(node->pid);
	fprintf(stderr, "net node VmRSS: %ld kB idle, %ld kB with %d clients\n",
		before, after, CLIENTS);
	if (after < 0)
		return -1;
	printf("BENCH gate_conn_kb %.1f KB\n", (double)(after - before) / CLIENTS);
	return 0;
}

/* ---- gate_broadcast_ms ---- */

/* One run: the ms from sending the command until every client has read
 * the broadcast, or -1. When the first client had it tells the way there
 * (gate, Lua handler, gate) from the writes to every client. */
static double broadcast_once(struct fleet *fl, int run)
{
	fl->want = CMD_BROADCAST_FRAME;
	fl->got = 0;
	double started = now_ms();
	if (wisp_cli_send(fl->cli[0], CMD_BROADCAST, NULL, 0, STEP_MS) < 0) {
		fprintf(stderr, "bench_gate: %s\n", wisp_cli_error(fl->cli[0]));
		return -1;
	}
	if (await_frames(fl, CLIENTS) < 0)
		return -1;
	double ms = now_ms() - started;
	fprintf(stderr, "broadcast run %d: %.2f ms to %d clients, the first "
		"after %.2f ms\n", run, ms, CLIENTS, fl->first_ms - started);
	return ms;
}

static int bench_broadcast(struct fleet *fl, int port)
{
	if (open_fleet(fl, port) < 0)
		return -1;
	double best = -1;
	for (int run = 1; run <= RUNS; run++) {
		double ms = broadcast_once(fl, run);
		if (ms < 0)
			return -1;
		if (best < 0 || ms < best)
			best = ms;
	}
	printf("BENCH gate_broadcast_ms %.1f ms\n", best);
	return 0;
}

static int run(const char *name, const char *wisp_load, int port)
{
	static struct fleet fl = { .ep = -1 };
	int r;
	if (strcmp(name, "gate_echo") == 0 || strcmp(name, "gate_agent_echo") == 0)
		return bench_echo(name, wisp_load, port);
	if (strcmp(name, "gate_conn_kb") == 0)
		r = bench_conn_kb(&fl, port);
	else
		r = bench_broadcast(&fl, port);
	close_fleet(&fl);
	return r;
}

int main(int argc, char **argv)
{
	static const char *const names[] = { "gate_echo", "gate_conn_kb",
		"gate_broadcast_ms", "gate_agent_echo" };
	int known = 0;
	for (size_t i = 0; argc == 5 && i < sizeof(names) / sizeof(names[0]); i++)
		known |= strcmp(argv[4], names[i]) == 0;
	if (!known) {
		fprintf(stderr, "usage: bench_gate WISP SOURCE_ROOT WISP_LOAD "
			"gate_echo|gate_conn_kb|gate_broadcast_ms|gate_agent_echo\n");
		return 2;
	}
	memset(body, 'e', sizeof(body));
	int agents = strcmp(argv[4], "gate_agent_echo") == 0;
	int base = agents ? free_port_run(5) : -1;
	int port = agents ? base + 4 : free_port();
	if (raise_fd_limit() < 0 || port < 0)
		return 1;
	proc_guard(procs, 5, 300); /* under meson's timeout of 600 s */
	int ok = (agents ? start_agents(argv[1], argv[2], base)
			: start_node(argv[1], argv[2], port)) == 0
		&& run(argv[4], argv[3], port) == 0;
	int code = node->running ? proc_stop(node, STEP_MS) : -1;
	if (!ok || code != 0) {
		fprintf(stderr, "benchmark %s failed (node exit %d)\n", argv[4], code);
		proc_dump(node);
	}
	proc_cleanup(node);
	if (agents && stop_agents() < 0)
		ok = 0;
	return ok && code == 0 ? 0 : 1;
}
