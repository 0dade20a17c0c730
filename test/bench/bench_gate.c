/* bench_gate.c: the gate benchmarks, each on a real net node
 * (test/bench/gate/gate.lua), the figure named by the last argument:
 *   gate_echo          wisp-load in a child process, 1,000 clients
 *                      echoing 64-byte frames through a Lua handler for
 *                      5 s: the best of 3 runs;
 *   gate_conn_kb       what 10,000 idle clients add to the node's resident
 *                      memory, per client;
 *   gate_broadcast_ms  with 10,000 clients open, from one client sending
 *                      the command that broadcasts until all 10,000 have
 *                      read the frame: the best of 5 runs; beside it the
 *                      kernel's floor, gate_broadcast_floor_ms (a bare
 *                      loop of send() of the same frame over 10,000
 *                      loopback connections, best of 5, its runs
 *                      alternating with the broadcasts) and
 *                      gate_broadcast_floor_ratio, the one over the other;
 *   gate_broadcast_stall_ms  the same broadcasts while one more client
 *                      echoes in a loop of its own (a thread): the
 *                      longest echo that overlapped a broadcast, the best
 *                      of the 5 runs;
 *   gate_agent_echo    gate_echo's load on a cluster (test/bench/gate/
 *                      agents.lua): each client bound to an agent of its
 *                      own on one of two game nodes, which echoes (the
 *                      best of 3 runs too).
 * It prints lines "BENCH name value unit", the details on stderr. The
 * 10,000 clients live here, in one epoll loop. */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "../integration/proc.h"
#include "client.h"
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
#define ECHO_RUNS 3 /* of wisp-load, 5 s each */
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

/* One run of wisp-load: its rate, or -1. */
static double echo_once(const char *wisp_load, int port)
{
	char target[64];
	snprintf(target, sizeof(target), "127.0.0.1:%d", port);
	char *args[] = { (char *)wisp_load, "--connections", "1000",
		"--outstanding", "8", "--duration", "5", "--mix", "1:64", target,
		NULL };
	return proc_run_load(load, args, "bench_gate");
}

/* The best of ECHO_RUNS: the machine's speed varies run to run. */
static int bench_echo(const char *name, const char *wisp_load, int port)
{
	double best = -1;
	for (int run = 0; run < ECHO_RUNS; run++) {
		double rate = echo_once(wisp_load, port);
		if (rate < 0)
			return -1;
		if (rate > best)
			best = rate;
	}
	printf("BENCH %s %.0f frames/s\n", name, best);
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
	printf("BENCH gate_conn_kb %.2f KB\n", (double)(after - before) / CLIENTS);
	return 0;
}

/* ---- gate_broadcast_floor_ms: the kernel's part ---- */

/* The floor runs in two child processes (10,000 sockets each side would
 * pass the open-file limit in one), started before the fleet opens: the
 * sender accepts the receiver's CLIENTS connections, and the floor's runs
 * alternate with the broadcasts, so that both see the same phases of a
 * machine whose speed swings. */
struct floor {
	pid_t sender, receiver;
	int go;   /* to the sender: a byte for each run */
	int took; /* from the sender: each run's ms, a double */
	int done; /* from the receiver: a byte when it has read a run */
};

/* The broadcast frame, as the gate sends it. */
static size_t floor_frame(uint8_t *frame)
{
	wisp_client_header(&proto, CMD_BROADCAST_FRAME, BODY, frame);
	memset(frame + WISP_CLIENT_HEADER, 'b', BODY);
	return WISP_CLIENT_HEADER + BODY;
}

/* The receiver: connects CLIENTS sockets to port, then for each run
 * reads every frame and says so on done. */
static void floor_receiver(int port, int done)
{
	static int fd[CLIENTS];
	static uint8_t buf[64 * 1024];
	struct sockaddr_in sa = { .sin_family = AF_INET,
		.sin_port = htons((uint16_t)port),
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int ep = epoll_create1(0);
	for (int i = 0; i < CLIENTS; i++) {
		fd[i] = socket(AF_INET, SOCK_STREAM, 0);
		struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd[i] };
		if (connect(fd[i], (struct sockaddr *)&sa, sizeof(sa)) < 0
			|| epoll_ctl(ep, EPOLL_CTL_ADD, fd[i], &ev) < 0)
			_exit(1);
	}
	size_t want = (size_t)CLIENTS * (WISP_CLIENT_HEADER + BODY);
	struct epoll_event ev[EVENTS];
	for (int run = 0; run < RUNS; run++) {
		for (size_t got = 0; got < want;) {
			int n = epoll_wait(ep, ev, EVENTS, STEP_MS);
			if (n <= 0)
				_exit(1);
			for (int i = 0; i < n; i++) {
				ssize_t r = read(ev[i].data.fd, buf, sizeof(buf));
				if (r <= 0)
					_exit(1);
				got += (size_t)r;
			}
		}
		if (write(done, "", 1) != 1)
			_exit(1);
	}
	_exit(0);
}

/* The sender: accepts the receiver's connections, with TCP_NODELAY as
 * the gate sets it, then for each byte on go times a bare loop of send()
 * of the frame to every one, the ms to took. */
static void floor_sender(int listener, int go, int took)
{
	static int fd[CLIENTS];
	uint8_t frame[WISP_CLIENT_HEADER + BODY];
	size_t size = floor_frame(frame);
	int one = 1;
	char c;
	for (int i = 0; i < CLIENTS; i++) {
		fd[i] = accept(listener, NULL, NULL);
		if (fd[i] < 0)
			_exit(1);
		setsockopt(fd[i], IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	}
	while (read(go, &c, 1) == 1) {
		double started = now_ms();
		for (int i = 0; i < CLIENTS; i++)
			if (send(fd[i], frame, size, MSG_NOSIGNAL) != (ssize_t)size)
				_exit(1);
		double ms = now_ms() - started;
		if (write(took, &ms, sizeof(ms)) != sizeof(ms))
			_exit(1);
	}
	_exit(0);
}

static int floor_listener(int *port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sa);
	int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (l < 0 || bind(l, (struct sockaddr *)&sa, sizeof(sa)) < 0
		|| listen(l, CLIENTS) < 0
		|| getsockname(l, (struct sockaddr *)&sa, &len) < 0) {
		if (l >= 0)
			close(l);
		return -1;
	}
	*port = ntohs(sa.sin_port);
	return l;
}

/* Forks the two children; each keeps only its ends of the pipes. */
static int floor_start(struct floor *f)
{
	int port, go[2], took[2], done[2];
	int l = floor_listener(&port);
	if (l < 0 || pipe(go) < 0 || pipe(took) < 0 || pipe(done) < 0)
		return -1;
	f->receiver = fork();
	if (f->receiver == 0) {
		close(l);
		floor_receiver(port, done[1]);
	}
	f->sender = f->receiver > 0 ? fork() : -1;
	if (f->sender == 0) {
		close(go[1]);
		floor_sender(l, go[0], took[1]);
	}
	close(l);
	close(go[0]);
	close(took[1]);
	close(done[1]);
	f->go = go[1];
	f->took = took[0];
	f->done = done[0];
	return f->sender > 0 ? 0 : -1;
}

/* One run of the bare loop: the ms it took, once all was read; or -1. */
static double floor_once(struct floor *f, int run)
{
	double ms;
	char c;
	if (write(f->go, "", 1) != 1
		|| read(f->took, &ms, sizeof(ms)) != sizeof(ms)
		|| read(f->done, &c, 1) != 1) {
		fprintf(stderr, "bench_gate: the bare send loop failed\n");
		return -1;
	}
	fprintf(stderr, "floor run %d: %.2f ms\n", run, ms);
	return ms;
}

/* Ends the children (the sender when go closes, the receiver after its
 * RUNS runs or when the sender's sockets close); 0 if both exited 0. */
static int floor_stop(struct floor *f)
{
	int ok = 1, status;
	close(f->go);
	close(f->took);
	close(f->done);
	pid_t pids[2] = { f->sender, f->receiver };
	for (int i = 0; i < 2; i++)
		if (pids[i] > 0 && (waitpid(pids[i], &status, 0) != pids[i]
				|| status != 0))
			ok = 0;
	return ok ? 0 : -1;
}

/* ---- gate_broadcast_stall_ms: one more client echoing meanwhile ---- */

#define ECHOES 200000 /* echo times kept: far more than 5 runs see */

/* A span of time, in now_ms(). */
struct span {
	double from, to;
};

struct echoer {
	struct wisp_cli *cli;
	pthread_t thread;
	atomic_int stop;
	struct span echo[ECHOES]; /* each echo, sent to answered */
	long echoes;
	struct span run[RUNS + 1]; /* each broadcast (main thread's) */
	int failed;
};

/* Echoes until told to stop; broadcast frames on the way are skipped. */
static void *echo_loop(void *arg)
{
	struct echoer *e = arg;
	struct wisp_client_frame f;
	while (!atomic_load(&e->stop) && e->echoes < ECHOES) {
		double started = now_ms();
		if (wisp_cli_send(e->cli, CMD_ECHO, body, BODY, STEP_MS) < 0) {
			e->failed = 1;
			return NULL;
		}
		do {
			if (wisp_cli_recv(e->cli, &f, STEP_MS) != 1) {
				e->failed = 1;
				return NULL;
			}
		} while (f.command != CMD_ECHO);
		e->echo[e->echoes++] = (struct span){ started, now_ms() };
	}
	return NULL;
}

static int echoer_start(struct echoer *e, int port)
{
	e->cli = wisp_cli_new(&proto);
	if (wisp_cli_connect(e->cli, "127.0.0.1", port, STEP_MS) < 0
		|| pthread_create(&e->thread, NULL, echo_loop, e) != 0) {
		fprintf(stderr, "bench_gate: echoer: %s\n", wisp_cli_error(e->cli));
		wisp_cli_free(e->cli);
		e->cli = NULL;
		return -1;
	}
	return 0;
}

/* The longest echo that overlapped run r: the echoes follow one another,
 * so some echo always does. */
static double worst_echo(const struct echoer *e, int r)
{
	double worst = -1;
	for (long i = 0; i < e->echoes; i++) {
		const struct span *x = &e->echo[i];
		if (x->to >= e->run[r].from && x->from <= e->run[r].to
			&& x->to - x->from > worst)
			worst = x->to - x->from;
	}
	return worst;
}

/* The best of the runs' longest echoes, or -1. */
static double echoer_stop(struct echoer *e)
{
	atomic_store(&e->stop, 1);
	pthread_join(e->thread, NULL);
	wisp_cli_free(e->cli);
	double best = -1;
	for (int r = 1; r <= RUNS; r++) {
		double ms = worst_echo(e, r);
		fprintf(stderr, "stall run %d: the longest echo %.3f ms\n", r, ms);
		if (ms < 0)
			return -1;
		if (best < 0 || ms < best)
			best = ms;
	}
	fprintf(stderr, "%ld echoes in all\n", e->echoes);
	return e->failed ? -1 : best;
}

/* ---- gate_broadcast_ms ---- */

/* One run: the ms from sending the command until every client has read
 * the broadcast, or -1. When the first client had it tells the way there
 * (gate, Lua handler, gate) from the writes to every client. */
static double broadcast_once(struct fleet *fl, int run, struct echoer *e)
{
	fl->want = CMD_BROADCAST_FRAME;
	fl->got = 0;
	double started = now_ms();
	if (wisp_cli_send(fl->cli[0], CMD_BROADCAST, NULL, 0, STEP_MS) < 0) {
		fprintf(stderr, "bench_gate: %s\n", wisp_cli_error(fl->cli[0]));
		return -1;
	}
	int r = await_frames(fl, CLIENTS);
	double ms = now_ms() - started;
	if (e)
		e->run[run] = (struct span){ started, started + ms };
	if (r < 0)
		return -1;
	fprintf(stderr, "broadcast run %d: %.2f ms to %d clients, the first "
		"after %.2f ms\n", run, ms, CLIENTS, fl->first_ms - started);
	return ms;
}

/* The best of RUNS broadcasts, or -1; with fo, each after a run of the
 * bare loop, whose best goes in *floor. */
static double broadcast_runs(struct fleet *fl, struct echoer *e,
	struct floor *fo, double *floor)
{
	double best = -1;
	for (int run = 1; run <= RUNS; run++) {
		double bare = fo ? floor_once(fo, run) : 0;
		double ms = bare < 0 ? -1 : broadcast_once(fl, run, e);
		if (ms < 0)
			return -1;
		if (best < 0 || ms < best)
			best = ms;
		if (fo && (*floor < 0 || bare < *floor))
			*floor = bare;
	}
	return best;
}

static int bench_broadcast(struct fleet *fl, int port)
{
	struct floor fo = { 0 };
	double floor = -1, best = -1;
	if (floor_start(&fo) == 0 && open_fleet(fl, port) == 0)
		best = broadcast_runs(fl, NULL, &fo, &floor);
	if (floor_stop(&fo) < 0 || best < 0 || floor <= 0)
		return -1;
	printf("BENCH gate_broadcast_floor_ms %.2f ms\n", floor);
	printf("BENCH gate_broadcast_ms %.2f ms\n", best);
	printf("BENCH gate_broadcast_floor_ratio %.3f x\n", best / floor);
	return 0;
}

static int bench_stall(struct fleet *fl, int port)
{
	static struct echoer e;
	if (open_fleet(fl, port) < 0 || echoer_start(&e, port) < 0)
		return -1;
	double best = broadcast_runs(fl, &e, NULL, NULL);
	double stall = echoer_stop(&e);
	if (best < 0 || stall < 0)
		return -1;
	printf("BENCH gate_broadcast_stall_ms %.3f ms\n", stall);
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
	else if (strcmp(name, "gate_broadcast_stall_ms") == 0)
		r = bench_stall(&fl, port);
	else
		r = bench_broadcast(&fl, port);
	close_fleet(&fl);
	return r;
}

int main(int argc, char **argv)
{
	static const char *const names[] = { "gate_echo", "gate_conn_kb",
		"gate_broadcast_ms", "gate_broadcast_stall_ms", "gate_agent_echo" };
	int known = 0;
	for (size_t i = 0; argc == 5 && i < sizeof(names) / sizeof(names[0]); i++)
		known |= strcmp(argv[4], names[i]) == 0;
	if (!known) {
		fprintf(stderr, "usage: bench_gate WISP SOURCE_ROOT WISP_LOAD "
			"gate_echo|gate_conn_kb|gate_broadcast_ms|gate_broadcast_stall_ms|"
			"gate_agent_echo\n");
		return 2;
	}
	memset(body, 'e', sizeof(body));
	int agents = strcmp(argv[4], "gate_agent_echo") == 0;
	int base = agents ? free_port_run(5) : -1;
	int port = agents ? base + 4 : free_port();
	if (proc_raise_fd_limit(CLIENTS + 64, "bench_gate") < 0 || port < 0)
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
