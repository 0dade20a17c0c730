/* bench_gate_error.c: BENCH gate_error_ms, on the cluster of
 * test/contract/contract.lua (a net node and a game node, real
 * processes): 1,000 clients each have a command in flight in a handler of
 * the game node that sleeps; the game node is killed with -9, and the
 * figure is the time from the kill until every client has read its error
 * frame (the harbor fails the commands on the link it loses; the gate
 * tells each client). The best of 3 rounds, the game node started again
 * for each. The details go to stderr. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>
#include "../integration/proc.h"
#include "wisp_client.h"

#define CLIENTS 1000
#define ROUNDS 3
#define PORTS 4
#define GATE_OFFSET 2
#define GAME_ECHO 40
#define GAME_SLEEP 41
#define GAME_SLEEPING 42
#define STEP_MS 30000 /* the longest any one step may take */
#define EVENTS 256

enum { NET, GAME };

static const struct wisp_client_proto proto = {
	{ 'W', 'I', 'S', 'P' }, 1, 1, 65536,
};

static struct proc procs[2];
static const char *wisp_exe;
static char conf[512];
static char *env[2];
static int gate_port;

/* The round's clients, and the error frames they have read. */
struct fleet {
	struct wisp_cli *cli[CLIENTS];
	int ep;
	int errors;   /* clients that have their error frame */
	int other;    /* frames that were not one, or not "node down" */
	uint8_t buf[64 * 1024];
};

static int start_node(int which, const char *name, const char *ready)
{
	char *args[] = { (char *)wisp_exe, conf, (char *)name, NULL };
	procs[which].label = name;
	if (proc_start(&procs[which], args, env) < 0
		|| !proc_wait_output(&procs[which], ready, STEP_MS)) {
		fprintf(stderr, "bench_gate_error: %s did not start\n", name);
		return -1;
	}
	return 0;
}

/* Asks the game node through the gate: the body of its answer into out
 * (n bytes); 0, or -1 when it came as an error frame or not at all. */
static int ask_game(struct wisp_cli *c, uint32_t command, char *out,
	size_t n)
{
	struct wisp_client_frame f;
	if (wisp_cli_send(c, command, "up?", 3, STEP_MS) < 0
		|| wisp_cli_recv(c, &f, STEP_MS) != 1 || f.command != command)
		return -1;
	snprintf(out, n, "%.*s", (int)f.size, (const char *)f.body);
	return 0;
}

/* The net node links to a game node started again when first asked. */
static int game_linked(struct wisp_cli *probe)
{
	char text[64];
	long long deadline = proc_now_ms() + STEP_MS;
	while (ask_game(probe, GAME_ECHO, text, sizeof text) < 0)
		if (proc_now_ms() > deadline)
			return -1;
		else
			proc_sleep_ms(50);
	return 0;
}

/* Waits until the game node's handlers hold every client's command. */
static int all_sleeping(struct wisp_cli *probe)
{
	char text[64] = "";
	long long deadline = proc_now_ms() + STEP_MS;
	while (proc_now_ms() < deadline) {
		if (ask_game(probe, GAME_SLEEPING, text, sizeof text) < 0)
			return -1;
		if (atoi(text) == CLIENTS)
			return 0;
		proc_sleep_ms(10);
	}
	fprintf(stderr, "bench_gate_error: %s of %d commands in the handlers\n",
		text, CLIENTS);
	return -1;
}

/* Each client connected, its command sent, and watched for reading. */
static int send_all(struct fleet *fl)
{
	for (int i = 0; i < CLIENTS; i++) {
		struct wisp_cli *c = fl->cli[i] = wisp_cli_new(&proto);
		struct epoll_event ev = { .events = EPOLLIN, .data.u32 = (uint32_t)i };
		if (wisp_cli_connect(c, "127.0.0.1", gate_port, STEP_MS) < 0
			|| wisp_cli_send(c, GAME_SLEEP, "", 0, STEP_MS) < 0
			|| epoll_ctl(fl->ep, EPOLL_CTL_ADD, wisp_cli_fd(c), &ev) < 0) {
			fprintf(stderr, "bench_gate_error: client %d: %s\n", i,
				wisp_cli_error(c) ? wisp_cli_error(c) : strerror(errno));
			return -1;
		}
	}
	return 0;
}

static void on_frame(void *ud, const struct wisp_client_frame *f)
{
	struct fleet *fl = ud;
	struct wisp_client_error e;
	if (f->command == UINT32_MAX
		&& wisp_client_error_decode(f->body, f->size, &e) == 0
		&& e.command == GAME_SLEEP && e.code == WISP_CLIENT_ERR_NODE_DOWN)
		fl->errors++;
	else
		fl->other++;
}

/* Reads until every client has its error frame: 0, or -1. */
static int read_errors(struct fleet *fl)
{
	struct epoll_event ev[EVENTS];
	long long deadline = proc_now_ms() + STEP_MS;
	while (fl->errors + fl->other < CLIENTS && proc_now_ms() < deadline) {
		int n = epoll_wait(fl->ep, ev, EVENTS, 100);
		for (int i = 0; i < n; i++) {
			struct wisp_cli *c = fl->cli[ev[i].data.u32];
			if (wisp_cli_read(c, fl->buf, sizeof fl->buf, on_frame, fl) < 0)
				epoll_ctl(fl->ep, EPOLL_CTL_DEL, wisp_cli_fd(c), NULL);
		}
	}
	if (fl->errors == CLIENTS)
		return 0;
	fprintf(stderr, "bench_gate_error: %d error frames of %d, %d other "
		"frames\n", fl->errors, CLIENTS, fl->other);
	return -1;
}

/* One round: its figure in ms, or -1. */
static double round_ms(struct fleet *fl)
{
	struct wisp_cli *probe = wisp_cli_new(&proto);
	double ms = -1;
	memset(fl->cli, 0, sizeof fl->cli);
	fl->errors = fl->other = 0;
	fl->ep = epoll_create1(EPOLL_CLOEXEC);
	if (start_node(GAME, "game", "READY game") == 0
		&& wisp_cli_connect(probe, "127.0.0.1", gate_port, STEP_MS) == 0
		&& game_linked(probe) == 0 && send_all(fl) == 0
		&& all_sleeping(probe) == 0) {
		long long start = proc_now_ms();
		kill(procs[GAME].pid, SIGKILL);
		if (read_errors(fl) == 0)
			ms = (double)(proc_now_ms() - start);
	}
	proc_stop(&procs[GAME], STEP_MS);
	proc_cleanup(&procs[GAME]);
	for (int i = 0; i < CLIENTS; i++)
		if (fl->cli[i])
			wisp_cli_free(fl->cli[i]);
	wisp_cli_free(probe);
	close(fl->ep);
	return ms;
}

static int run(void)
{
	static struct fleet fl;
	double best = -1;
	for (int r = 0; r < ROUNDS; r++) {
		double ms = round_ms(&fl);
		fprintf(stderr, "round %d: %.1f ms\n", r + 1, ms);
		if (ms < 0)
			return -1;
		if (best < 0 || ms < best)
			best = ms;
	}
	printf("BENCH gate_error_ms %.1f ms\n", best);
	return 0;
}

int main(int argc, char **argv)
{
	static char base_env[64];
	if (argc != 3) {
		fprintf(stderr, "usage: bench_gate_error WISP SOURCE_ROOT\n");
		return 2;
	}
	wisp_exe = argv[1];
	snprintf(conf, sizeof conf, "%s/test/contract/contract.lua", argv[2]);
	int base = free_port_run(PORTS);
	if (base < 0 || proc_raise_fd_limit(CLIENTS + 64, "bench_gate_error") < 0)
		return 1;
	gate_port = base + GATE_OFFSET;
	snprintf(base_env, sizeof base_env, "WISP_PORT_BASE=%d", base);
	env[0] = base_env;
	proc_guard(procs, 2, 500);
	int rc = start_node(NET, "net", "READY busy") == 0 ? run() : -1;
	if (rc < 0)
		for (int i = 0; i < 2; i++)
			proc_dump(&procs[i]);
	proc_stop(&procs[NET], STEP_MS);
	proc_cleanup(&procs[NET]);
	proc_kill_all();
	return rc < 0 ? 1 : 0;
}
