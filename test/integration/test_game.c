/* test_game.c: the demo game end to end on the demo cluster
 * (conf/demo.lua): root, net, lobby, db and game1..game3, each its own
 * process on free ports, the database in a temporary directory. 200 bots
 * (wisp-bots) log in, each to an agent on a game node, enter 10 rooms,
 * move and chat for 10 s: no error, and every
 * chat line reaches every bot of its room. Then each node is stopped with
 * SIGTERM (each must exit 0, having logged no error) and the cluster is
 * started again: each bot's login must give back the position and login
 * count it left (wisp-bots --verify), and a client of the test's own logs
 * in as one of them and checks that row itself. Every wait is bounded,
 * and every node is stopped (or killed) at the end. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "demo_cluster.h"
#include "proc.h"
#include "testlib.h"
#include "wisp_client.h"

#define NODES DEMO_NODES
#define BOTS 200L /* at a fixed rate: as many under the sanitizers */
#define ROOMS 10L
#define PLAY_S "10"
#define START_MS 30000  /* for a node to be up, under the sanitizers too */
#define BOTS_MS 60000   /* a run of the bots, setup and drain included */
#define STOP_MS 15000
#define FRAME_MS 10000
#define TEXT_MAX 256

enum { LOGIN = 101 }; /* services/demo/protocol.lua */

static const struct wisp_client_proto proto = {
	.magic = { 'W', 'I', 'S', 'P' },
	.proto_version = 1,
	.server_version = 1,
	.max_body = 65536,
};

static const char *bots_exe;
static struct demo_cluster demo;
static char saved_file[128];
/* the nodes of the first run, then of the second; the bots' runs */
static struct proc procs[2 * NODES + 2];

static int start_cluster(struct proc *run)
{
	if (demo_start(&demo, run, START_MS) == 0)
		return 1;
	test_failures++;
	return 0;
}

/* net first (no new clients), root last; each must exit 0, with nothing
 * on stderr and no error in its log. */
static void stop_cluster(struct proc *run)
{
	test_failures += demo_stop(run, STOP_MS);
}

/* Runs wisp-bots with the extra arguments; its stdout, malloc'd. */
static char *run_bots(struct proc *p, char **extra)
{
	CHECK_INT(demo_start_bots(&demo, p, bots_exe, BOTS, ROOMS, extra), 0);
	CHECK_INT(proc_wait(p, BOTS_MS), 0);
	char *out = proc_output(p, 0);
	printf("%s", out); /* the bots' progress and summary, for the log */
	return out;
}

static void check_play(const char *out)
{
	char line[96];
	snprintf(line, sizeof line, "summary: %ld bots, %ld logged in", BOTS,
		BOTS);
	CHECK(strstr(out, line) != NULL);
	CHECK(strstr(out, ", errors 0\n") != NULL);
	CHECK(demo_delivered(out, "chat deliveries"));
	CHECK(demo_delivered(out, "move pushes"));
}

/* One line per bot, each logged in once; the bots did walk about. */
static void check_saved(void)
{
	FILE *f = fopen(saved_file, "r");
	char account[64], room[64];
	long x, y, logins, lines = 0, away = 0;
	CHECK(f != NULL);
	if (f == NULL)
		return;
	while (fscanf(f, "%63s %ld %ld %ld %63s", account, &x, &y, &logins,
		room) == 5) {
		lines++;
		away += x != 0 || y != 0;
		CHECK_INT(logins, 1);
	}
	fclose(f);
	CHECK_INT(lines, BOTS);
	CHECK(away > 0);
}

/* The saved line of account: "x y logins room". */
static int saved_state(const char *account, char *out, size_t cap)
{
	FILE *f = fopen(saved_file, "r");
	char line[256], want[64];
	int found = 0;
	snprintf(want, sizeof want, "%s ", account);
	while (f && !found && fgets(line, sizeof line, f))
		if (strncmp(line, want, strlen(want)) == 0) {
			snprintf(out, cap, "%s", line + strlen(want));
			out[strcspn(out, "\n")] = '\0';
			found = 1;
		}
	if (f)
		fclose(f);
	return found;
}

/* A login of the last bot's account, as a client of the test's own: its
 * third (the bots' two before it), where it was left, on a game node. */
static void check_one_login(void)
{
	char account[32], saved[128], want[256], text[TEXT_MAX];
	long x, y, logins;
	char room[64];
	snprintf(account, sizeof account, "bot%ld", BOTS - 1);
	CHECK(saved_state(account, saved, sizeof saved));
	if (sscanf(saved, "%ld %ld %ld %63s", &x, &y, &logins, room) != 4)
		return;
	snprintf(want, sizeof want, "ok account=%s name=%s room=%s x=%ld y=%ld "
		"logins=%ld node=game", account, account, room, x, y, logins + 2);
	struct wisp_cli *c = wisp_cli_new(&proto);
	struct wisp_client_frame f;
	CHECK_INT(wisp_cli_connect(c, "127.0.0.1", demo.gate_port, FRAME_MS), 0);
	CHECK_INT(wisp_cli_send(c, LOGIN, account, strlen(account), FRAME_MS), 0);
	CHECK_INT(wisp_cli_recv(c, &f, FRAME_MS), 1);
	if (wisp_cli_error(c) == NULL) {
		size_t n = f.size < TEXT_MAX - 1 ? f.size : TEXT_MAX - 1;
		memcpy(text, f.body, n);
		text[n] = '\0';
		CHECK_INT(f.command, LOGIN);
		text[strlen(want) < n ? strlen(want) : n] = '\0'; /* the node's number */
		CHECK_STR(text, want);
	}
	wisp_cli_free(c);
}

static void play_then_restart(void)
{
	struct proc *first = &procs[0], *second = &procs[NODES];
	char *play[] = { "--duration", PLAY_S, "--save", saved_file, NULL };
	char *verify[] = { "--duration", "0", "--verify", saved_file, NULL };
	char line[96];
	if (!start_cluster(first))
		return;
	char *out = run_bots(&procs[2 * NODES], play);
	check_play(out);
	free(out);
	check_saved();
	stop_cluster(first);
	if (test_failures || !start_cluster(second))
		return;
	out = run_bots(&procs[2 * NODES + 1], verify);
	snprintf(line, sizeof line, "summary: %ld of %ld logins gave back the "
		"saved state", BOTS, BOTS);
	CHECK(strstr(out, line) != NULL);
	free(out);
	check_one_login();
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: test_game WISP WISP_BOTS SOURCE_ROOT\n");
		return 2;
	}
	bots_exe = argv[2];
	CHECK_INT(demo_init(&demo, argv[1], argv[3]), 0);
	snprintf(saved_file, sizeof saved_file, "%s/players.txt", demo.dir);
	proc_guard(procs, 2 * NODES + 2, 110); /* under meson's 120 s */

	if (!test_failures)
		play_then_restart();
	stop_cluster(&procs[NODES]);
	stop_cluster(&procs[0]);
	proc_kill_all();
	if (test_failures)
		for (int i = 0; i < 2 * NODES + 2; i++)
			if (procs[i].label)
				proc_dump(&procs[i]);
	for (int i = 0; i < 2 * NODES + 2; i++)
		if (procs[i].label)
			proc_cleanup(&procs[i]);
	static const char *const extra[] = { "players.txt", NULL };
	demo_remove(&demo, extra);
	return TEST_END();
}
