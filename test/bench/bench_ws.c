/* bench_ws.c: the gate's WebSocket benchmarks, on a real net node
 * (test/bench/gate/gate.lua), the figure named by the last argument:
 *   ws_echo     gate_echo's load over WebSocket: 1,000 clients, each with
 *               8 echoes of 64-byte bodies in flight through the Lua
 *               handler, for 5 s, the best of 3 runs (the clients live
 *               here, in one epoll loop); in the same run, alternating
 *               with those, wisp-load's gate_echo over TCP against the
 *               same node (ws_echo_tcp), and ws_echo_ratio, the one over
 *               the other;
 *   ws_conn_kb  what 10,000 idle WebSocket clients, each upgraded and
 *               answered once, add to the node's resident memory, per
 *               client.
 * It prints lines "BENCH name value unit", the details on stderr. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>
#include "../integration/proc.h"

#define ECHO_CLIENTS 1000
#define IDLE_CLIENTS 10000
#define OUTSTANDING 8
#define BODY 64
#define RUNS 3
#define RUN_MS 5000
#define STEP_MS 20000
#define EVENTS 256
/* A masked binary frame of one wisp echo frame: 2 + 4 + 17 + 64 bytes;
 * the gate's answer is 2 + 17 + 64, unmasked. */
#define FRAME (2 + 4 + 17 + BODY)
#define REPLY (2 + 17 + BODY)

static struct proc procs[2];
static struct proc *const node = &procs[0], *const load = &procs[1];
static uint8_t frame[FRAME];
static uint8_t frames[OUTSTANDING * FRAME];

struct client {
	int fd;
	size_t have; /* bytes of a reply read so far */
};

static const char upgrade_request[] = "GET / HTTP/1.1\r\nHost: bench\r\n"
	"Upgrade: websocket\r\nConnection: Upgrade\r\n"
	"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
	"Sec-WebSocket-Version: 13\r\n\r\n";

/* The echo frame, masked with a fixed key (the gate cannot tell). */
static void build_frame(void)
{
	static const uint8_t key[4] = { 0x37, 0xfa, 0x21, 0x3d };
	uint8_t plain[17 + BODY] = { 'W', 'I', 'S', 'P', 1, 0, 0, 0, 1,
		0, 0, 0, BODY + 4, 0, 0, 0, 1 };
	memset(plain + 17, 'e', BODY);
	frame[0] = 0x82;
	frame[1] = 0x80 | (17 + BODY);
	memcpy(frame + 2, key, 4);
	for (size_t i = 0; i < sizeof(plain); i++)
		frame[6 + i] = plain[i] ^ key[i % 4];
	for (int i = 0; i < OUTSTANDING; i++)
		memcpy(frames + i * FRAME, frame, FRAME);
}

/* Connected and upgraded (the 101 read whole), or -1. */
static int ws_connect(int port)
{
	int fd = tcp_connect(port, STEP_MS);
	char head[512];
	size_t n = 0;
	if (fd < 0 || tcp_write_all(fd, upgrade_request,
		sizeof(upgrade_request) - 1) < 0)
		goto fail;
	while (n < 4 || memcmp(head + n - 4, "\r\n\r\n", 4) != 0) {
		if (n == sizeof(head) || tcp_read_exact(fd, head + n, 1, STEP_MS) < 0)
			goto fail;
		n++;
	}
	if (memcmp(head, "HTTP/1.1 101", 12) == 0)
		return fd;
fail:
	fprintf(stderr, "bench_ws: upgrade failed\n");
	if (fd >= 0)
		close(fd);
	return -1;
}

/* One echo, waited for: the client is known to be served. */
static int echo_once(int fd)
{
	uint8_t reply[REPLY];
	if (tcp_write_all(fd, frame, FRAME) < 0
		|| tcp_read_exact(fd, reply, REPLY, STEP_MS) < 0
		|| reply[0] != 0x82 || reply[1] != 17 + BODY) {
		fprintf(stderr, "bench_ws: no echo\n");
		return -1;
	}
	return 0;
}

/* ---- ws_echo ---- */

/* Counts the whole replies in n bytes read (all are REPLY bytes: the
 * node sends these clients nothing else); each is answered with the next
 * echo, so that OUTSTANDING stay in flight. */
static long on_read(struct client *c, size_t n)
{
	long whole = (long)((c->have + n) / REPLY);
	c->have = (c->have + n) % REPLY;
	for (long left = whole; left > 0; left -= OUTSTANDING) {
		size_t k = (size_t)(left < OUTSTANDING ? left : OUTSTANDING);
		if (tcp_write_all(c->fd, frames, k * FRAME) < 0)
			return -1;
	}
	return whole;
}

/* Reads for RUN_MS and counts the echoes; -1 on a failure. */
static long echo_loop(int ep, struct client *cl)
{
	static uint8_t buf[64 * 1024];
	struct epoll_event ev[EVENTS];
	long long end = proc_now_ms() + RUN_MS;
	long count = 0;
	while (proc_now_ms() < end) {
		int n = epoll_wait(ep, ev, EVENTS, 100);
		if (n < 0 && errno != EINTR)
			return -1;
		for (int i = 0; i < n; i++) {
			struct client *c = &cl[ev[i].data.u32];
			ssize_t got = read(c->fd, buf, sizeof(buf));
			if (got < 0 && errno == EAGAIN)
				continue;
			long whole = got > 0 ? on_read(c, (size_t)got) : -1;
			if (whole < 0) {
				fprintf(stderr, "bench_ws: a client failed\n");
				return -1;
			}
			count += whole;
		}
	}
	return count;
}

/* ECHO_CLIENTS clients, each started with OUTSTANDING echoes. */
static int open_echoers(int port, int ep, struct client *cl)
{
	for (uint32_t i = 0; i < ECHO_CLIENTS; i++) {
		int fd = cl[i].fd = ws_connect(port);
		int one = 1;
		struct epoll_event ev = { .events = EPOLLIN, .data.u32 = i };
		if (fd < 0 || setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
				sizeof(one)) < 0
			|| fcntl(fd, F_SETFL, O_NONBLOCK) < 0
			|| epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0
			|| tcp_write_all(fd, frames, sizeof(frames)) < 0)
			return -1;
	}
	return 0;
}

/* One run over WebSocket: echoes a second, or -1. */
static double ws_run(int port)
{
	static struct client cl[ECHO_CLIENTS];
	memset(cl, 0, sizeof(cl));
	for (int i = 0; i < ECHO_CLIENTS; i++)
		cl[i].fd = -1;
	int ep = epoll_create1(EPOLL_CLOEXEC);
	long long start = 0;
	long count = -1;
	if (ep >= 0 && open_echoers(port, ep, cl) == 0) {
		start = proc_now_ms();
		count = echo_loop(ep, cl);
	}
	double rate = count < 0 ? -1
		: (double)count * 1000.0 / (double)(proc_now_ms() - start);
	for (int i = 0; i < ECHO_CLIENTS; i++)
		if (cl[i].fd >= 0)
			close(cl[i].fd);
	if (ep >= 0)
		close(ep);
	return rate;
}

/* One run of wisp-load over TCP, as bench_gate's gate_echo. */
static double tcp_run(const char *wisp_load, int port)
{
	char target[64];
	snprintf(target, sizeof(target), "127.0.0.1:%d", port);
	char *args[] = { (char *)wisp_load, "--connections", "1000",
		"--outstanding", "8", "--duration", "5", "--mix", "1:64", target,
		NULL };
	return proc_run_load(load, args, "bench_ws");
}

/* Runs alternate, so that both see the same phases of the machine. */
static int bench_echo(const char *wisp_load, int port, int ws_port)
{
	double ws = -1, tcp = -1;
	for (int run = 0; run < RUNS; run++) {
		double w = ws_run(ws_port), t = tcp_run(wisp_load, port);
		if (w < 0 || t < 0)
			return -1;
		fprintf(stderr, "run %d: %.0f frames/s over WebSocket, %.0f over "
			"TCP\n", run + 1, w, t);
		ws = w > ws ? w : ws;
		tcp = t > tcp ? t : tcp;
	}
	printf("BENCH ws_echo %.0f frames/s\n", ws);
	printf("BENCH ws_echo_tcp %.0f frames/s\n", tcp);
	printf("BENCH ws_echo_ratio %.3f x\n", ws / tcp);
	return 0;
}

/* ---- ws_conn_kb ---- */

static int bench_conn_kb(int ws_port)
{
	static int fds[IDLE_CLIENTS];
	long before = proc_rss_kb(node->pid);
	int n = 0, ok = before >= 0;
	while (ok && n < IDLE_CLIENTS) {
		fds[n] = ws_connect(ws_port);
		ok = fds[n] >= 0 && echo_once(fds[n]) == 0;
		n += fds[n] >= 0;
	}
	long after = proc_rss_kb(node->pid);
	fprintf(stderr, "net node VmRSS: %ld kB idle, %ld kB with %d WebSocket "
		"clients\n", before, after, n);
	if (ok && after >= 0)
		printf("BENCH ws_conn_kb %.2f KB\n",
			(double)(after - before) / IDLE_CLIENTS);
	for (int i = 0; i < n; i++)
		close(fds[i]);
	return ok && after >= 0 ? 0 : -1;
}

static int start_node(const char *wisp, const char *root, int port,
	int ws_port)
{
	static char conf[512], port_env[64], ws_env[64];
	snprintf(conf, sizeof(conf), "%s/test/bench/gate/gate.lua", root);
	snprintf(port_env, sizeof(port_env), "WISP_GATE_PORT=%d", port);
	snprintf(ws_env, sizeof(ws_env), "WISP_WS_PORT=%d", ws_port);
	char *args[] = { (char *)wisp, conf, "net", NULL };
	char *env[] = { port_env, ws_env, NULL };
	node->label = "net";
	if (proc_start(node, args, env) < 0)
		return -1;
	return proc_wait_output(node, "READY gate_bench", STEP_MS) ? 0 : -1;
}

int main(int argc, char **argv)
{
	if (argc != 5 || (strcmp(argv[4], "ws_echo") != 0
		&& strcmp(argv[4], "ws_conn_kb") != 0)) {
		fprintf(stderr, "usage: bench_ws WISP SOURCE_ROOT WISP_LOAD "
			"ws_echo|ws_conn_kb\n");
		return 2;
	}
	build_frame();
	int base = free_port_run(2);
	if (proc_raise_fd_limit(IDLE_CLIENTS + 64, "bench_ws") < 0 || base < 0)
		return 1;
	proc_guard(procs, 2, 300); /* under meson's timeout of 600 s */
	int ok = start_node(argv[1], argv[2], base, base + 1) == 0
		&& (strcmp(argv[4], "ws_echo") == 0
			? bench_echo(argv[3], base, base + 1)
			: bench_conn_kb(base + 1)) == 0;
	int code = node->running ? proc_stop(node, STEP_MS) : -1;
	if (!ok || code != 0) {
		fprintf(stderr, "benchmark %s failed (node exit %d)\n", argv[4], code);
		proc_dump(node);
	}
	proc_cleanup(node);
	return ok && code == 0 ? 0 : 1;
}
