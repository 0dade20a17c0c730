/* test_same_host.c: the harbor's same-host transport, with real processes
 * on loopback (test/cluster/cluster.lua, game1 running same_host.lua):
 * - nodes on one host link over their Unix sockets, and calls work;
 * - a peer killed with -9 is noticed at once from the closed socket (the
 *   heartbeat timeout is set to a minute): the pending call fails fast;
 * - a frame half written when its connection closes is not delivered
 *   (this driver plays a node of the config over the Unix socket, with
 *   the secret, and writes frames by hand);
 * - a peer that runs without its Unix socket is reached over TCP. */
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include "harbor.h"
#include "harbor_pake.h"
#include "proc.h"
#include "testlib.h"
#include "wisp.h"

#define NODE_PORTS 5 /* root, game1, game2, game3, rogue */
#define GAME2_OFFSET 2
#define ROGUE_ID 5
#define MAX_FRAME (16 * 1024 * 1024)

static const char *wisp_exe;
static int base_port;
static char conf[512], port_env[64], gate[64], gate_env[96];
static char timeout_env[] = "WISP_HARBOR_TIMEOUT=60000";
static struct proc procs[6];
static int proc_count;

static struct proc *start_node(const char *node, const char *script,
	int same_host)
{
	static char scripts[6][64];
	static char no_unix[] = "WISP_SAME_HOST=0";
	int i = proc_count;
	snprintf(scripts[i], sizeof(scripts[i]), "WISP_SCRIPT=%s", script);
	char *env[] = { port_env, timeout_env, gate_env, scripts[i],
		same_host ? NULL : no_unix, NULL };
	char *args[] = { (char *)wisp_exe, conf, (char *)node, NULL };
	if (proc_start(&procs[i], args, env) < 0)
		return NULL;
	procs[i].label = node;
	proc_count++;
	return &procs[i];
}

/* ---- a node of the config played by hand over game2's Unix socket ---- */

static int dial_game2_unix(void)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int n = snprintf(a.sun_path + 1, sizeof(a.sun_path) - 1,
		"wisp-harbor/127.0.0.1:%d", base_port + GAME2_OFFSET);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&a, len) == 0)
		return fd;
	perror("connect to game2's unix socket");
	if (fd >= 0)
		close(fd);
	return -1;
}

static int send_frame(int fd, const struct wisp_harbor_frame *f, size_t cut)
{
	struct wisp_harbor_encoder e;
	wisp_harbor_encoder_init(&e, MAX_FRAME, 0);
	int rc = wisp_harbor_encode(&e, f) == 0 && e.len > cut
		? tcp_write_all(fd, e.data, e.len - cut) : -1;
	wisp_harbor_encoder_free(&e);
	return rc;
}

/* Reads until one frame is decoded into f, within 5 s: 0 or -1. */
static int read_frame(int fd, struct wisp_harbor_decoder *d,
	struct wisp_harbor_frame *f)
{
	for (;;) {
		unsigned char byte;
		size_t used;
		struct pollfd p = { .fd = fd, .events = POLLIN };
		if (poll(&p, 1, 5000) != 1 || read(fd, &byte, 1) != 1)
			return -1;
		int rc = wisp_harbor_decode(d, &byte, 1, &used, f);
		if (rc != WISP_HARBOR_MORE)
			return rc == WISP_HARBOR_FRAME ? 0 : -1;
	}
}

/* The cluster secret the nodes were started with (test/cluster/cluster.lua
 * reads the same variable). */
static const char *cluster_secret(void)
{
	const char *s = getenv("WISP_SECRET");
	return s ? s : "";
}

/* Reads HELLO(A) and PROOF(A), checks the proof and sends PROOF(C): 0 or
 * -1. */
static int finish_handshake(int fd, struct wisp_harbor_pake *pake,
	const struct wisp_harbor_hello *mine)
{
	struct wisp_harbor_decoder d;
	wisp_harbor_decoder_init(&d, MAX_FRAME);
	struct wisp_harbor_frame theirs, proof;
	struct wisp_harbor_keys keys;
	int ok = read_frame(fd, &d, &theirs) == 0
		&& theirs.kind == WISP_HARBOR_HELLO
		&& read_frame(fd, &d, &proof) == 0
		&& proof.kind == WISP_HARBOR_PROOF
		&& wisp_harbor_pake_finish(pake, mine, &theirs.hello, &keys) == 0
		&& wisp_harbor_proof_equal(keys.proof_acceptor, proof.proof);
	wisp_harbor_decoder_free(&d);
	if (!ok)
		return -1;
	struct wisp_harbor_frame f = { .kind = WISP_HARBOR_PROOF };
	memcpy(f.proof, keys.proof_connector, sizeof(f.proof));
	return send_frame(fd, &f, 0);
}

/* HELLO and PROOF as the node "rogue" of the config: the fd, or -1. */
static int join_as_rogue(void)
{
	int fd = dial_game2_unix();
	if (fd < 0)
		return -1;
	struct wisp_harbor_frame mine = { .kind = WISP_HARBOR_HELLO,
		.hello = { .version = WISP_HARBOR_VERSION, .node = ROGUE_ID,
			.name = "rogue" } };
	const char *secret = cluster_secret();
	struct wisp_harbor_pake *pake = wisp_harbor_pake_start(secret,
		strlen(secret), WISP_HARBOR_CONNECTOR, mine.hello.share);
	int ok = pake && send_frame(fd, &mine, 0) == 0
		&& finish_handshake(fd, pake, &mine.hello) == 0;
	wisp_harbor_pake_free(pake);
	CHECK(ok);
	if (!ok) {
		close(fd);
		return -1;
	}
	return fd;
}

/* A text message to the service "pong", all but cut bytes of it. */
static int send_note(int fd, const char *text, size_t cut)
{
	struct wisp_harbor_frame f = { .kind = WISP_HARBOR_MSG,
		.msg = { .source = ((wisp_handle)ROGUE_ID << WISP_LOCAL_BITS) | 1,
			.type = WISP_MSG_TEXT, .name = "pong",
			.payload = (void *)text, .size = strlen(text) } };
	return send_frame(fd, &f, cut);
}

/* "first" whole, then "second" without its last bytes, and the
 * connection closed: game2 gets the first and never the second, as a
 * later connection's "third" shows. */
static void half_written(struct proc *game2)
{
	int fd = join_as_rogue();
	if (fd < 0)
		return;
	CHECK_INT(send_note(fd, "first", 0), 0);
	CHECK(proc_wait_log(game2, "NOTE first", "", 10000));
	CHECK_INT(send_note(fd, "second", 2), 0);
	close(fd);
	fd = join_as_rogue();
	if (fd < 0)
		return;
	CHECK_INT(send_note(fd, "third", 0), 0);
	CHECK(proc_wait_log(game2, "NOTE third", "", 10000));
	close(fd);
	CHECK(!proc_log_has(game2, "NOTE second", ""));
}

/* ---- the cluster ---- */

static int waited(const struct proc *p, const char *text, int ms)
{
	int ok = proc_wait_log(p, text, "", ms);
	if (!ok)
		fprintf(stderr, "%s never logged \"%s\"\n", p->label, text);
	CHECK(ok);
	return ok;
}

static void run(void)
{
	struct proc *root = start_node("root", "idle", 1);
	struct proc *game2 = start_node("game2", "peer pong2", 1);
	struct proc *game1 = start_node("game1", "same_host", 1);
	if (!root || !game2 || !game1 || !waited(game1, "PING ANSWERED", 20000))
		return;
	CHECK(proc_log_has(game1, "link to node game2 is up (unix socket)", ""));
	CHECK(proc_log_has(game2, "link to node game1 is up (unix socket)", ""));

	/* killed in the middle of a call: the closed socket says so at once,
	 * long before the minute of harbor.timeout */
	if (!waited(game2, "SLOW STARTED", 10000))
		return;
	kill(game2->pid, SIGKILL);
	CHECK(waited(game1, "SLOW FAILED", 15000));
	CHECK(proc_log_has(game1, "SLOW FAILED", "game2 is down"));

	game2 = start_node("game2", "peer pong2", 1);
	if (!game2 || !waited(game1, "PING AGAIN ANSWERED", 30000))
		return;
	half_written(game2);

	/* without its Unix socket, game2 is reached over TCP */
	if (!waited(game1, "WAITING FOR TCP", 10000))
		return;
	CHECK_INT(proc_stop(game2, 5000), 0);
	game2 = start_node("game2", "peer pong2", 0);
	if (!game2 || !waited(game2, "READY pong2", 10000))
		return;
	CHECK_INT(proc_gate_open(gate, "tcp.ready"), 0);
	if (!waited(game1, "PING TCP ANSWERED", 30000))
		return;
	/* with TLS on (the same_host_tls run), the TCP links use it, and the
	 * Unix socket ones above did not */
	const char *tcp = getenv("WISP_HARBOR_TLS") ? "(tcp, TLS)" : "(tcp)";
	CHECK(proc_log_has(game1, "link to node game2 is up", tcp));
	CHECK(proc_log_has(game2, "link to node game1 is up", tcp));
	CHECK_INT(proc_wait(game1, 10000), 0);
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: test_same_host WISP SOURCE_ROOT\n");
		return 2;
	}
	wisp_exe = argv[1];
	snprintf(conf, sizeof(conf), "%s/test/cluster/cluster.lua", argv[2]);
	base_port = free_port_run(NODE_PORTS);
	CHECK(base_port > 0);
	snprintf(port_env, sizeof(port_env), "WISP_PORT_BASE=%d", base_port);
	CHECK_INT(proc_gate_make(gate, sizeof(gate), "same_host"), 0);
	snprintf(gate_env, sizeof(gate_env), "WISP_GATE=%s", gate);
	proc_guard(procs, 6, 100);
	if (base_port > 0)
		run();
	proc_finish(procs, proc_count, test_failures);
	proc_gate_remove(gate, "tcp.ready");
	return TEST_END();
}
