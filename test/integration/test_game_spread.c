/* test_game_spread.c: the demo game spread over the demo cluster's three
 * game nodes, and one of them lost. 1,000 bots (as many under the
 * sanitizers) log in, each to an agent that demo.login places on a game
 * node by its account: each node must hold a third of them, +/- 10%
 * (wisp-bots --spread 3). While they play, game2 is killed with -9: its
 * players' next moves fail (an error frame, or "log in again"), they log
 * in again (wisp-bots --relogin yes), land on game1 and game3, and each
 * login must give back the last move it was answered (or the failed one,
 * which may have been saved). Then, with game2 still down, a --verify run
 * gives every bot its saved state back: no acknowledged write was lost.
 * The other nodes must then stop cleanly. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "demo_cluster.h"
#include "proc.h"
#include "testlib.h"

#define BOTS 1000L /* the sanitizers keep up: ten to a room */
#define ROOMS (BOTS / 10) /* ten in a room: each move pushed to ten */
#define PLAY_S "12"
#define KILL_AFTER_MS 3000 /* of play: moves are going on, at 1/s a bot */
#define START_MS 30000
#define SETUP_MS 30000     /* for every bot to be in its room */
#define BOTS_MS 60000      /* a run of the bots, setup and drain included */
#define STOP_MS 15000

static const char *bots_exe;
static struct demo_cluster demo;
static char saved_file[128];
static struct proc procs[DEMO_NODES + 2]; /* the nodes, two bots' runs */
static struct proc *const game2 = &procs[DEMO_FIRST_GAME + 1];

/* Starts wisp-bots with the extra arguments into p. */
static int start_bots(struct proc *p, char **extra)
{
	return demo_start_bots(&demo, p, bots_exe, BOTS, ROOMS, extra);
}

/* Waits for the bots in p and checks how they ended: their stdout,
 * malloc'd. */
static char *end_bots(struct proc *p)
{
	char line[96];
	CHECK_INT(proc_wait(p, BOTS_MS), 0);
	char *out = proc_output(p, 0);
	printf("%s", out); /* the bots' progress and summary, for the log */
	snprintf(line, sizeof line, "summary: %ld bots, %ld logged in", BOTS,
		BOTS);
	CHECK(strstr(out, line) != NULL);
	CHECK(strstr(out, ", errors 0\n") != NULL);
	return out;
}

/* " NAME N" in the part of the spread line at (up to the next ';' or
 * the line's end): N, or -1. */
static long on_node(const char *at, const char *name)
{
	char key[32];
	snprintf(key, sizeof key, " %s ", name);
	const char *end = strpbrk(at + 1, ";\n");
	const char *n = strstr(at, key);
	return n && (end == NULL || n < end) ? atol(n + strlen(key)) : -1;
}

/* Every bot of game2 logged in again, once, onto game1 or game3; the
 * moves pushed stayed within what was due and what the failed moves may
 * have added. */
static void check_relogins(const char *out)
{
	const char *first = strstr(out, "summary: first logins on");
	const char *now = first ? strstr(first, "; bots now on") : NULL;
	long failed = -1, again = -1;
	const char *r = strstr(out, " moves failed, ");
	CHECK(first != NULL && now != NULL && r != NULL);
	if (first == NULL || now == NULL || r == NULL)
		return;
	while (r > out && r[-1] != ' ')
		r--;
	CHECK_INT(sscanf(r, "%ld moves failed, %ld logins again", &failed,
		&again), 2);
	long lost = on_node(first, "game2");
	printf("game2 held %ld bots; %ld moves failed, %ld logins again\n",
		lost, failed, again);
	CHECK(lost > 0);
	CHECK_INT(failed, lost);
	CHECK_INT(again, lost);
	CHECK_INT(on_node(now, "game2"), 0);
	CHECK_INT(on_node(now, "game1") + on_node(now, "game3"), BOTS);
}

static void play_kill_verify(void)
{
	char *play[] = { "--duration", PLAY_S, "--relogin", "yes", "--spread",
		"3", "--save", saved_file, NULL };
	char *verify[] = { "--duration", "0", "--verify", saved_file, NULL };
	char line[96];
	if (demo_start(&demo, procs, START_MS) < 0) {
		test_failures++;
		return;
	}
	struct proc *bots = &procs[DEMO_NODES];
	CHECK_INT(start_bots(bots, play), 0);
	snprintf(line, sizeof line, "wisp-bots: %ld of %ld bots in their rooms",
		BOTS, BOTS);
	CHECK(proc_wait_output(bots, line, SETUP_MS));
	proc_sleep_ms(KILL_AFTER_MS);
	CHECK_INT(kill(game2->pid, SIGKILL), 0);
	CHECK_INT(proc_wait(game2, STOP_MS), 128 + SIGKILL);
	char *out = end_bots(bots);
	check_relogins(out);
	free(out);
	if (test_failures)
		return;
	CHECK_INT(start_bots(&procs[DEMO_NODES + 1], verify), 0);
	out = end_bots(&procs[DEMO_NODES + 1]);
	snprintf(line, sizeof line, "summary: %ld of %ld logins gave back the "
		"saved state", BOTS, BOTS);
	CHECK(strstr(out, line) != NULL);
	free(out);
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: test_game_spread WISP WISP_BOTS "
			"SOURCE_ROOT\n");
		return 2;
	}
	bots_exe = argv[2];
	CHECK_INT(demo_init(&demo, argv[1], argv[3]), 0);
	snprintf(saved_file, sizeof saved_file, "%s/players.txt", demo.dir);
	proc_guard(procs, DEMO_NODES + 2, 110); /* under meson's 120 s */

	if (!test_failures)
		play_kill_verify();
	test_failures += demo_stop(procs, STOP_MS);
	proc_kill_all();
	if (test_failures)
		for (int i = 0; i < DEMO_NODES + 2; i++)
			if (procs[i].label)
				proc_dump(&procs[i]);
	for (int i = 0; i < DEMO_NODES + 2; i++)
		if (procs[i].label)
			proc_cleanup(&procs[i]);
	static const char *const extra[] = { "players.txt", NULL };
	demo_remove(&demo, extra);
	return TEST_END();
}
