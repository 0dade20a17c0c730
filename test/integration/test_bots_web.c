/* test_bots_web.c: wisp-bots playing the demo cluster (conf/demo.lua)
 * over the gate's web transports, with the checks of test_game.c: every
 * bot logs in, plays and hears every chat line and move, --save writes
 * their states, and after the cluster is stopped and started again
 * --verify finds each one back.
 *   ws:  both runs over WebSocket (gate.ws_listen), --ws.
 *   tls: the gate with gate.tls (a certificate for 127.0.0.1 from
 *        test/tls/make_certs.sh): the first run over TLS (--tls --ca),
 *        the second over wss (--ws --tls --ca); and between them, the
 *        same gate refused when its certificate is checked against the
 *        system's CAs, which do not know it, then taken with --insecure.
 * Usage: test_bots_web WISP WISP_BOTS SOURCE_ROOT MAKE_CERTS ws|tls */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "demo_cluster.h"
#include "proc.h"
#include "testlib.h"

#define NODES DEMO_NODES
#define BOTS 100L /* as test_game's, at a fixed rate */
#define ROOMS 10L
#define PLAY_S "5"
#define START_MS 30000 /* for a node to be up, under the sanitizers too */
#define BOTS_MS 60000  /* a run of the bots, setup and drain included */
#define STOP_MS 15000
#define CERTS_MS 30000
#define RUNS 5         /* wisp-bots and make_certs.sh runs */

static const char *bots_exe;
static struct demo_cluster demo;
static int tls;                 /* the tls mode */
static char saved[128], certs[128], ca[160];
static char ws_addr[32];        /* the gate's WebSocket listener */
static char env_ws[64], env_cert[192], env_key[192];
static struct proc procs[2 * NODES + RUNS];
static int runs;                /* procs after the nodes' used so far */

static struct proc *next_run(void)
{
	return &procs[2 * NODES + runs++];
}

/* Runs wisp-bots at address with the extra arguments: its exit code,
 * its stdout in *out (malloc'd). */
static int run_bots(const char *address, char **extra, char **out)
{
	struct demo_cluster at = demo;
	struct proc *p = next_run();
	snprintf(at.gate, sizeof at.gate, "%s", address);
	CHECK_INT(demo_start_bots(&at, p, bots_exe, BOTS, ROOMS, extra), 0);
	int rc = proc_wait(p, BOTS_MS);
	*out = proc_output(p, 0);
	printf("%s", *out); /* the bots' progress and summary, for the log */
	return rc;
}

/* Every bot logged in and played with no error; each heard all. */
static void play(const char *address, char **transport)
{
	char *args[16], *out, line[96];
	int n = 0;
	while (*transport)
		args[n++] = *transport++;
	char *rest[] = { "--duration", PLAY_S, "--save", saved, NULL };
	memcpy(args + n, rest, sizeof rest);
	CHECK_INT(run_bots(address, args, &out), 0);
	snprintf(line, sizeof line, "summary: %ld bots, %ld logged in", BOTS,
		BOTS);
	CHECK(strstr(out, line) != NULL);
	CHECK(strstr(out, ", errors 0\n") != NULL);
	CHECK(demo_delivered(out, "chat deliveries"));
	CHECK(demo_delivered(out, "move pushes"));
	free(out);
	char *file = proc_read_file(saved);
	CHECK_INT(proc_count_lines(file), BOTS);
	free(file);
}

/* Each bot's login gave back the state the first run saved. */
static void verify(const char *address, char **transport)
{
	char *args[16], *out, line[96];
	int n = 0;
	while (*transport)
		args[n++] = *transport++;
	char *rest[] = { "--duration", "0", "--verify", saved, NULL };
	memcpy(args + n, rest, sizeof rest);
	CHECK_INT(run_bots(address, args, &out), 0);
	snprintf(line, sizeof line, "summary: %ld of %ld logins gave back the "
		"saved state", BOTS, BOTS);
	CHECK(strstr(out, line) != NULL);
	free(out);
}

/* The gate's certificate checked against the system's CAs: every bot
 * fails its handshake, saying why. */
static void refused(void)
{
	char *args[] = { "--tls", "--duration", "0", NULL };
	char *out;
	struct proc *p = &procs[2 * NODES + runs];
	CHECK_INT(run_bots(demo.gate, args, &out), 1);
	free(out);
	char *err = proc_output(p, 1);
	CHECK(strstr(err, "certificate verify failed") != NULL
		|| strstr(err, "the server's certificate") != NULL);
	free(err);
}

/* --insecure: logins only, no check of the certificate. */
static void insecure(void)
{
	char *args[] = { "--ws", "--tls", "--insecure", "--duration", "0",
		NULL };
	char *out, line[96];
	CHECK_INT(run_bots(ws_addr, args, &out), 0);
	snprintf(line, sizeof line, "summary: %ld bots, %ld logged in", BOTS,
		BOTS);
	CHECK(strstr(out, line) != NULL);
	free(out);
}

static int start_cluster(struct proc *run)
{
	if (demo_start(&demo, run, START_MS) == 0)
		return 1;
	test_failures++;
	return 0;
}

static void play_then_restart(void)
{
	char *ws[] = { "--ws", NULL };
	char *over_tls[] = { "--tls", "--ca", ca, NULL };
	char *wss[] = { "--ws", "--tls", "--ca", ca, NULL };
	if (!start_cluster(&procs[0]))
		return;
	play(tls ? demo.gate : ws_addr, tls ? over_tls : ws);
	if (tls)
		refused();
	test_failures += demo_stop(&procs[0], STOP_MS);
	if (test_failures || !start_cluster(&procs[NODES]))
		return;
	verify(ws_addr, tls ? wss : ws);
	if (tls)
		insecure();
}

/* test/tls/make_certs.sh: a CA and localhost's certificate, which names
 * 127.0.0.1; the gate's environment names them. */
static int make_certs(const char *script)
{
	char *args[] = { (char *)script, certs, "localhost", NULL };
	struct proc *p = next_run();
	p->label = "make_certs.sh";
	if (proc_start(p, args, NULL) < 0 || proc_wait(p, CERTS_MS) != 0)
		return -1;
	snprintf(ca, sizeof ca, "%s/ca.pem", certs);
	snprintf(env_cert, sizeof env_cert, "WISP_GATE_CERT=%s/localhost.pem",
		certs);
	snprintf(env_key, sizeof env_key, "WISP_GATE_KEY=%s/localhost.key",
		certs);
	putenv(env_cert);
	putenv(env_key);
	return 0;
}

/* The nodes inherit the environment: the gate's WebSocket address (and
 * its certificate, for tls) are set in ours. */
static int set_up(const char *script)
{
	int port = free_port();
	snprintf(ws_addr, sizeof ws_addr, "127.0.0.1:%d", port);
	snprintf(env_ws, sizeof env_ws, "WISP_WS_ADDR=%s", ws_addr);
	putenv(env_ws);
	snprintf(saved, sizeof saved, "%s/players.txt", demo.dir);
	snprintf(certs, sizeof certs, "%s/certs", demo.dir);
	return port > 0 && (!tls || make_certs(script) == 0) ? 0 : -1;
}

int main(int argc, char **argv)
{
	if (argc != 6 || (strcmp(argv[5], "ws") && strcmp(argv[5], "tls"))) {
		fprintf(stderr, "usage: test_bots_web WISP WISP_BOTS SOURCE_ROOT "
			"MAKE_CERTS ws|tls\n");
		return 2;
	}
	bots_exe = argv[2];
	tls = strcmp(argv[5], "tls") == 0;
	CHECK_INT(demo_init(&demo, argv[1], argv[3]), 0);
	proc_guard(procs, 2 * NODES + RUNS, 170); /* under meson's 180 s */
	if (!test_failures)
		CHECK_INT(set_up(argv[4]), 0);
	if (!test_failures)
		play_then_restart();
	test_failures += demo_stop(&procs[NODES], STOP_MS);
	test_failures += demo_stop(&procs[0], STOP_MS);
	proc_finish(procs, 2 * NODES + RUNS, test_failures != 0);
	proc_remove_tree(certs);
	static const char *const extra[] = { "players.txt", NULL };
	demo_remove(&demo, extra);
	return TEST_END();
}
