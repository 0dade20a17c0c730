/* bench_tls.c: the gate's TLS benchmarks (gate.tls), on real net nodes
 * (test/bench/gate/gate.lua with a certificate from test/tls/
 * make_certs.sh), the figure named by the last argument:
 *   tls_echo     gate_echo's load over TLS: 1,000 clients, each with 8
 *                echoes of 64-byte bodies in flight through the Lua
 *                handler, for 5 s, the best of 3 runs (the clients live
 *                here, OpenSSL over non-blocking sockets in one epoll
 *                loop, and cost this machine's cores too); in the same
 *                run, alternating with those, wisp-load's gate_echo over
 *                TCP against a plaintext node of the same config
 *                (tls_echo_tcp), and tls_echo_ratio, the one over the
 *                other;
 *   tls_conn_kb  what 10,000 idle TLS clients, each through its handshake
 *                and answered once, add to the node's resident memory,
 *                per client.
 * It prints lines "BENCH name value unit", the details on stderr. */
#include <errno.h>
#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/time.h>
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
#define FRAME (17 + BODY) /* an echo, and its answer */

static struct proc procs[3];
static struct proc *const tls_node = &procs[0], *const tcp_node = &procs[1],
	*const load = &procs[2];
static uint8_t frames[OUTSTANDING * FRAME];
static SSL_CTX *client_ctx;
static char cert_dir[] = "/tmp/wisp-bench-tls-XXXXXX";

struct client {
	int fd;
	SSL *ssl;
	size_t have; /* bytes of an answer read so far */
};

static void build_frames(void)
{
	uint8_t f[FRAME] = { 'W', 'I', 'S', 'P', 1, 0, 0, 0, 1,
		0, 0, 0, BODY + 4, 0, 0, 0, 1 };
	memset(f + 17, 'e', BODY);
	for (int i = 0; i < OUTSTANDING; i++)
		memcpy(frames + i * FRAME, f, FRAME);
}

/* A client as browsers are: TLS 1.3, AES-128-GCM first; the certificate
 * is not checked (the tests do that). */
static int make_client_ctx(void)
{
	client_ctx = SSL_CTX_new(TLS_client_method());
	if (client_ctx)
		SSL_CTX_set_read_ahead(client_ctx, 1); /* a read() per record not */
	return client_ctx
		&& SSL_CTX_set_min_proto_version(client_ctx, TLS1_3_VERSION)
		&& SSL_CTX_set_ciphersuites(client_ctx, "TLS_AES_128_GCM_SHA256:"
			"TLS_AES_256_GCM_SHA384") ? 0 : -1;
}

static int write_all(SSL *ssl, const void *data, size_t n)
{
	size_t done;
	return SSL_write_ex(ssl, data, n, &done) == 1 && done == n ? 0 : -1;
}

/* One echo on a blocking session, waited for. */
static int echo_once(SSL *ssl)
{
	uint8_t answer[FRAME];
	size_t got = 0, n;
	if (write_all(ssl, frames, FRAME) < 0)
		return -1;
	while (got < FRAME && SSL_read_ex(ssl, answer + got, FRAME - got, &n))
		got += n;
	return got == FRAME && memcmp(answer, frames, 17) == 0 ? 0 : -1;
}

/* Connected, through the handshake and answered once (blocking, each
 * step bounded by STEP_MS), or -1. */
static int tls_connect(int port, struct client *c)
{
	struct timeval tv = { STEP_MS / 1000, 0 };
	c->fd = tcp_connect(port, STEP_MS);
	c->ssl = c->fd >= 0 ? SSL_new(client_ctx) : NULL;
	if (c->ssl && setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv,
			sizeof(tv)) == 0
		&& SSL_set_fd(c->ssl, c->fd) == 1 && SSL_connect(c->ssl) == 1
		&& echo_once(c->ssl) == 0)
		return 0;
	fprintf(stderr, "bench_tls: a client failed its handshake or echo\n");
	ERR_print_errors_fp(stderr);
	return -1;
}

static void drop(struct client *c)
{
	SSL_free(c->ssl);
	if (c->fd >= 0)
		close(c->fd);
	c->ssl = NULL;
	c->fd = -1;
}

/* ---- tls_echo ---- */

/* Reads what the session has; each whole answer is answered with the
 * next echo, so that OUTSTANDING stay in flight. The answers, or -1. */
static long on_readable(struct client *c)
{
	static uint8_t buf[64 * 1024];
	long whole = 0;
	size_t n;
	while (SSL_read_ex(c->ssl, buf, sizeof(buf), &n)) {
		whole += (long)((c->have + n) / FRAME);
		c->have = (c->have + n) % FRAME;
	}
	if (SSL_get_error(c->ssl, 0) != SSL_ERROR_WANT_READ)
		return -1;
	for (long left = whole; left > 0; left -= OUTSTANDING) {
		size_t k = (size_t)(left < OUTSTANDING ? left : OUTSTANDING);
		if (write_all(c->ssl, frames, k * FRAME) < 0)
			return -1;
	}
	return whole;
}

/* Reads for RUN_MS and counts the echoes; -1 on a failure. */
static long echo_loop(int ep, struct client *cl)
{
	struct epoll_event ev[EVENTS];
	long long end = proc_now_ms() + RUN_MS;
	long count = 0;
	while (proc_now_ms() < end) {
		int n = epoll_wait(ep, ev, EVENTS, 100);
		if (n < 0 && errno != EINTR)
			return -1;
		for (int i = 0; i < n; i++) {
			long whole = on_readable(&cl[ev[i].data.u32]);
			if (whole < 0) {
				fprintf(stderr, "bench_tls: a client failed\n");
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
		struct epoll_event ev = { .events = EPOLLIN, .data.u32 = i };
		if (tls_connect(port, &cl[i]) < 0
			|| fcntl(cl[i].fd, F_SETFL, O_NONBLOCK) < 0
			|| epoll_ctl(ep, EPOLL_CTL_ADD, cl[i].fd, &ev) < 0
			|| write_all(cl[i].ssl, frames, sizeof(frames)) < 0)
			return -1;
	}
	return 0;
}

/* One run over TLS: echoes a second, or -1. */
static double tls_run(int port)
{
	static struct client cl[ECHO_CLIENTS];
	for (int i = 0; i < ECHO_CLIENTS; i++)
		cl[i] = (struct client){ .fd = -1 };
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
		drop(&cl[i]);
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
	return proc_run_load(load, args, "bench_tls");
}

/* Runs alternate, so that both see the same phases of the machine. */
static int bench_echo(const char *wisp_load, int tls_port, int tcp_port)
{
	double tls = -1, tcp = -1;
	for (int run = 0; run < RUNS; run++) {
		double s = tls_run(tls_port), t = tcp_run(wisp_load, tcp_port);
		if (s < 0 || t < 0)
			return -1;
		fprintf(stderr, "run %d: %.0f frames/s over TLS, %.0f over TCP\n",
			run + 1, s, t);
		tls = s > tls ? s : tls;
		tcp = t > tcp ? t : tcp;
	}
	printf("BENCH tls_echo %.0f frames/s\n", tls);
	printf("BENCH tls_echo_tcp %.0f frames/s\n", tcp);
	printf("BENCH tls_echo_ratio %.3f x\n", tls / tcp);
	return 0;
}

/* ---- tls_conn_kb ---- */

/* The clients' sessions go once answered (without a close_notify: the
 * gate sees nothing); the sockets stay open. */
static int bench_conn_kb(int port)
{
	static int fds[IDLE_CLIENTS];
	long before = proc_rss_kb(tls_node->pid);
	int n = 0, ok = before >= 0;
	while (ok && n < IDLE_CLIENTS) {
		struct client c = { .fd = -1 };
		ok = tls_connect(port, &c) == 0;
		SSL_free(c.ssl);
		if (c.fd >= 0)
			fds[n++] = c.fd;
	}
	long after = proc_rss_kb(tls_node->pid);
	fprintf(stderr, "net node VmRSS: %ld kB idle, %ld kB with %d TLS "
		"clients\n", before, after, n);
	if (ok && after >= 0)
		printf("BENCH tls_conn_kb %.2f KB\n",
			(double)(after - before) / IDLE_CLIENTS);
	for (int i = 0; i < n; i++)
		close(fds[i]);
	return ok && after >= 0 ? 0 : -1;
}

/* ---- the nodes ---- */

static int make_certs(const char *root)
{
	char cmd[1024];
	if (mkdtemp(cert_dir) == NULL)
		return -1;
	snprintf(cmd, sizeof(cmd), "sh '%s/test/tls/make_certs.sh' '%s/c' "
		"localhost", root, cert_dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* A net node of gate.lua on port; with TLS when tls. */
static int start_node(struct proc *p, const char *wisp, const char *root,
	int port, int tls)
{
	char conf[512], port_env[64], cert[512], key[512];
	snprintf(conf, sizeof(conf), "%s/test/bench/gate/gate.lua", root);
	snprintf(port_env, sizeof(port_env), "WISP_GATE_PORT=%d", port);
	snprintf(cert, sizeof(cert), "WISP_GATE_CERT=%s/c/localhost.pem",
		cert_dir);
	snprintf(key, sizeof(key), "WISP_GATE_KEY=%s/c/localhost.key", cert_dir);
	char *args[] = { (char *)wisp, conf, "net", NULL };
	char *env[] = { port_env, cert, key, NULL };
	if (!tls)
		env[1] = NULL;
	p->label = tls ? "tls" : "tcp";
	return proc_start(p, args, env) == 0
		&& proc_wait_output(p, "READY gate_bench", STEP_MS) ? 0 : -1;
}

static int stop_node(struct proc *p)
{
	int code = p->running ? proc_stop(p, STEP_MS) : -1;
	if (code != 0) {
		fprintf(stderr, "bench_tls: node %s exit %d\n", p->label, code);
		proc_dump(p);
	}
	proc_cleanup(p);
	return code;
}

static int run(char **argv, int base)
{
	int echo = strcmp(argv[4], "tls_echo") == 0;
	if (make_certs(argv[2]) < 0 || make_client_ctx() < 0
		|| start_node(tls_node, argv[1], argv[2], base, 1) < 0)
		return -1;
	if (!echo)
		return bench_conn_kb(base);
	return start_node(tcp_node, argv[1], argv[2], base + 1, 0) < 0 ? -1
		: bench_echo(argv[3], base, base + 1);
}

int main(int argc, char **argv)
{
	if (argc != 5 || (strcmp(argv[4], "tls_echo") != 0
		&& strcmp(argv[4], "tls_conn_kb") != 0)) {
		fprintf(stderr, "usage: bench_tls WISP SOURCE_ROOT WISP_LOAD "
			"tls_echo|tls_conn_kb\n");
		return 2;
	}
	build_frames();
	int base = free_port_run(2);
	if (proc_raise_fd_limit(IDLE_CLIENTS + 64, "bench_tls") < 0 || base < 0)
		return 1;
	proc_guard(procs, 3, 300); /* under meson's timeout of 600 s */
	int ok = run(argv, base) == 0;
	int codes = stop_node(tls_node) | (tcp_node->pid ? stop_node(tcp_node)
		: 0);
	proc_remove_tree(cert_dir);
	if (!ok || codes != 0)
		fprintf(stderr, "benchmark %s failed\n", argv[4]);
	return ok && codes == 0 ? 0 : 1;
}
