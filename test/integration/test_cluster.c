/* test_cluster.c: a real cluster on loopback (test/cluster/cluster.lua): a
 * root and nodes game1..game3, each its own `wisp` process. game1 runs
 * the Lua cases (test/cluster/game1.lua); this driver plays the outside
 * world around them, following the markers the nodes log: it writes
 * random bytes to game2's harbor port, kills game3 with -9 while a call
 * to it is pending and starts it again, and starts a node that holds the
 * wrong secret. It runs twice: with the nodes linked over Unix sockets,
 * and over TCP (cluster_tcp). Every wait is bounded and every child is
 * killed at the end, whatever happened. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "proc.h"
#include "testlib.h"

#define NODE_PORTS 5  /* root, game1, game2, game3, rogue */
#define GAME2_OFFSET 2
#define GAME1_CASES 11 /* the cases of game1.lua */
#define MAX_PROCS 8

static const char *wisp_exe;
static int base_port;
static char conf[512], port_base[64], gate[64], gate_env[96];
static struct proc procs[MAX_PROCS];
static int proc_count;

/* Starts `wisp cluster.lua NODE` running SCRIPT (NULL: none). */
static struct proc *start_node(const char *node, const char *script,
	const char *secret)
{
	static char scripts[MAX_PROCS][96], secrets[MAX_PROCS][96];
	int i = proc_count;
	if (i == MAX_PROCS)
		return NULL;
	char *env[5] = { port_base, gate_env };
	int n = 2;
	if (script) {
		snprintf(scripts[i], sizeof(scripts[i]), "WISP_SCRIPT=%s", script);
		env[n++] = scripts[i];
	}
	if (secret) {
		snprintf(secrets[i], sizeof(secrets[i]), "WISP_SECRET=%s", secret);
		env[n++] = secrets[i];
	}
	char *args[] = { (char *)wisp_exe, conf, (char *)node, NULL };
	if (proc_start(&procs[i], args, env) < 0)
		return NULL;
	procs[i].label = node;
	proc_count++;
	return &procs[i];
}

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static int has_output(const struct proc *p, const char *text)
{
	char *out = proc_output(p, 0);
	int found = strstr(out, text) != NULL;
	free(out);
	return found;
}

/* 4 KiB from a fixed-seed xorshift, written to the harbor port: the
 * node must close that connection within a second. */
static void random_bytes_to(int port)
{
	unsigned char junk[4096];
	uint32_t x = 0x9e3779b9;
	for (size_t i = 0; i < sizeof(junk); i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		junk[i] = (unsigned char)x;
	}
	int fd = tcp_connect(port, 2000);
	CHECK(fd >= 0);
	if (fd < 0)
		return;
	long long started = now_ms();
	tcp_write_all(fd, junk, sizeof(junk)); /* may fail: closed already */
	int closed = 0;
	for (;;) {
		int left = (int)(started + 1000 - now_ms());
		struct pollfd pfd = { fd, POLLIN, 0 };
		if (left <= 0 || poll(&pfd, 1, left) <= 0)
			break;
		char buf[256];
		ssize_t r = read(fd, buf, sizeof(buf));
		if (r <= 0) {
			closed = 1;
			break;
		}
	}
	if (!closed)
		fprintf(stderr, "game2 kept a connection that sent random bytes\n");
	CHECK(closed);
	close(fd);
}

/* Waits up to ms for a marker in p's log; a missing one is a failure. */
static int wait_marker(const struct proc *p, const char *text, int ms)
{
	if (proc_wait_output(p, text, ms))
		return 1;
	fprintf(stderr, "no \"%s\" from %s within %d ms\n", text,
		p->label, ms);
	test_failures++;
	return 0;
}

/* A secret the config accepts that is not the cluster's: 32 random
 * bytes in hex, so that the rogue is refused by the handshake, not by its
 * own config check. */
static const char *another_secret(void)
{
	static char hex[65];
	unsigned char bytes[32];
	if (getrandom(bytes, sizeof(bytes), 0) != (ssize_t)sizeof(bytes))
		return "";
	for (size_t i = 0; i < sizeof(bytes); i++)
		snprintf(hex + 2 * i, 3, "%02x", bytes[i]);
	return hex;
}

/* A node with another secret is refused: its call fails, and the node
 * it called or the root says why. */
static void wrong_secret(struct proc *root, struct proc *game2)
{
	struct proc *rogue = start_node("rogue", "rogue", another_secret());
	CHECK(rogue != NULL);
	if (rogue == NULL)
		return;
	CHECK_INT(proc_wait(rogue, 10000), 0);
	CHECK(has_output(rogue, "ROGUE CALL FAILED"));
	CHECK(!has_output(rogue, "ROGUE CALL ANSWERED"));
	/* the rogue knows the proof it got was wrong; the node it dialed only
	 * that it went without its own */
	/* the dialed node logs once it has seen the rogue go, which may be
	 * after the rogue's exit */
	int said = has_output(rogue, "wrong proof")
		&& (proc_wait_log(root, "another cluster secret", "", 5000)
			|| proc_wait_log(game2, "another cluster secret", "", 5000));
	if (!said)
		fprintf(stderr, "the rogue node did not log a wrong proof, or "
			"neither the root nor game2 a missing one\n");
	CHECK(said);
}

/* The links went over Unix sockets, or over TCP when WISP_SAME_HOST=0
 * (the cluster_tcp run), with TLS when WISP_HARBOR_TLS says (the
 * cluster_tls runs). */
static void links_as_asked(const struct proc *game1)
{
	const char *same_host = getenv("WISP_SAME_HOST");
	int tls = getenv("WISP_HARBOR_TLS") != NULL;
	int tcp = tls || (same_host && strcmp(same_host, "0") == 0);
	const char *want = tls ? "(tcp, TLS)" : tcp ? "(tcp)" : "(unix socket)";
	CHECK(proc_log_has(game1, "link to node game2 is up", want));
	CHECK(!proc_log_has(game1, "link to node game2 is up",
		tcp ? "(unix socket)" : "(tcp"));
	CHECK(tls || !proc_log_has(game1, "link to node game2 is up", "TLS"));
	if (tls)
		CHECK(proc_log_has(game1, "use TLS 1.3",
			strcmp(getenv("WISP_HARBOR_TLS"), "cert") == 0 ? "(certificates)"
			: "(a key from the cluster secret)"));
}

/* The cluster from start to stop; a missing marker fails the test and
 * skips the rest. */
static void run_cluster(void)
{
	struct proc *root = start_node("root", NULL, NULL);
	struct proc *game2 = start_node("game2", "peer pong2", NULL);
	struct proc *game3 = start_node("game3", "peer pong3", NULL);
	CHECK(root && game2 && game3);
	if (!root || !game2 || !game3
		|| !wait_marker(game2, "READY pong2", 10000)
		|| !wait_marker(game3, "READY pong3", 10000))
		return;
	struct proc *game1 = start_node("game1", "game1", NULL);
	CHECK(game1 != NULL);
	if (game1 == NULL || !wait_marker(game1, "GARBAGE NOW", 20000))
		return;

	random_bytes_to(base_port + GAME2_OFFSET);
	CHECK_INT(proc_gate_open(gate, "garbage.done"), 0);
	proc_wait_output(game2, "refused a link", 2000);

	if (!wait_marker(game3, "SLOW STARTED pong3", 20000))
		return;
	kill(game3->pid, SIGKILL);
	CHECK_INT(proc_wait(game3, 5000), 128 + SIGKILL);

	if (!wait_marker(game1, "RESTART game3", 10000))
		return;
	game3 = start_node("game3", "peer pong3", NULL);
	CHECK(game3 != NULL);

	CHECK_INT(proc_wait(game1, 40000), 0);
	links_as_asked(game1);
	char done[64];
	snprintf(done, sizeof(done), "lua tests: %d passed, 0 failed", GAME1_CASES);
	CHECK(has_output(game1, done));
	char *err = proc_output(game1, 1);
	CHECK_STR(err, "");
	free(err);

	wrong_secret(root, game2);
	CHECK_INT(proc_stop(game2, 5000), 0);
	CHECK_INT(proc_stop(root, 5000), 0);
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: test_cluster WISP SOURCE_ROOT\n");
		return 2;
	}
	wisp_exe = argv[1];
	snprintf(conf, sizeof(conf), "%s/test/cluster/cluster.lua", argv[2]);
	base_port = free_port_run(NODE_PORTS);
	CHECK(base_port > 0);
	snprintf(port_base, sizeof(port_base), "WISP_PORT_BASE=%d", base_port);
	CHECK_INT(proc_gate_make(gate, sizeof(gate), "cluster"), 0);
	snprintf(gate_env, sizeof(gate_env), "WISP_GATE=%s", gate);
	proc_guard(procs, MAX_PROCS, 100); /* under meson's timeout of 120 s */

	if (base_port > 0)
		run_cluster();
	proc_finish(procs, proc_count, test_failures);
	proc_gate_remove(gate, "garbage.done");
	return TEST_END();
}
