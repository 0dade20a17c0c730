/* test_flood.c: the flood drill of the overload issue, on the demo
 * cluster with its default config. One hostile client (wisp-flood) logs
 * in and pipelines moves as fast as the gate takes them, never reading,
 * and another does the same but reads (so only flow control holds it
 * back), while 50 bots (wisp-bots) play. The bots must lose nothing (every
 * command answered, every chat line and move push delivered), no harbor
 * link may be lost, every node must stop cleanly, and (outside the
 * sanitizers) no node's RSS may pass 150 MB. Then a client floods a
 * command no service takes: the net node's log grows by a few lines.
 * With --bench it is the benchmark instead: the same drill, best of
 * three rounds, printing BENCH gate_flood_p99_ms (the bots' p99) and
 * BENCH flood_rss_mb (the largest RSS of any node). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "demo_cluster.h"
#include "proc.h"
#include "testlib.h"

#define BOTS "50"
#define PLAY_S "10"
#define START_MS 30000
#define RUN_MS 60000   /* the bots' and the flooder's runs, drain included */
#define STOP_MS 15000
#define RSS_LIMIT_MB 150
#define SAMPLE_MS 100
#define ROUNDS 3

static const char *bots_exe, *flood_exe;
static struct demo_cluster demo;
/* the nodes, the bots, the two flooders, the flooder of unrouted commands */
#define CLIENTS 4
static struct proc procs[DEMO_NODES + CLIENTS];
static struct proc *const bots = &procs[DEMO_NODES];

struct drill {
	double p99_ms;
	double rss_mb;   /* the largest of any node */
	int lost_links;  /* "lost" lines in the nodes' logs */
	char *bots_out, *flood_out[2];
};

static int start_clients(void)
{
	char *play[] = { (char *)bots_exe, "--bots", BOTS, "--rooms", "5",
		"--duration", PLAY_S, demo.gate, NULL };
	char *mute[] = { (char *)flood_exe, "--first", "101:flooder",
		"--duration", PLAY_S, demo.gate, NULL };
	char *reading[] = { (char *)flood_exe, "--first", "101:flooder2",
		"--read", "yes", "--duration", PLAY_S, demo.gate, NULL };
	bots->label = "wisp-bots";
	bots[1].label = "wisp-flood";
	bots[2].label = "wisp-flood --read";
	return proc_start(&bots[1], mute, NULL) == 0
		&& proc_start(&bots[2], reading, NULL) == 0
		&& proc_start(bots, play, NULL) == 0 ? 0 : -1;
}

/* Samples every node's RSS until the bots print their summary: the
 * largest, in MB. */
static double watch_rss(void)
{
	long top = 0;
	for (int waited = 0; waited < RUN_MS; waited += SAMPLE_MS) {
		for (int i = 0; i < DEMO_NODES; i++) {
			long kb = proc_rss_kb(procs[i].pid);
			if (kb > top)
				top = kb;
		}
		if (proc_wait_output(bots, "summary:", SAMPLE_MS))
			break;
	}
	return (double)top / 1024;
}

static int count_lost_links(void)
{
	int lost = 0;
	for (int i = 0; i < DEMO_NODES; i++) {
		char *out = proc_output(&procs[i], 0);
		for (const char *at = out; (at = strstr(at, " lost")); at++)
			lost++;
		free(out);
	}
	return lost;
}

/* Runs the drill on a fresh cluster: 0, or -1 when something did not run. */
static int run_drill(struct drill *d)
{
	memset(d, 0, sizeof(*d));
	if (demo_start(&demo, procs, START_MS) < 0 || start_clients() < 0)
		return -1;
	d->rss_mb = watch_rss();
	int rc[CLIENTS];
	for (int i = 0; i < CLIENTS; i++)
		rc[i] = proc_wait(&bots[i], RUN_MS);
	d->bots_out = proc_output(bots, 0);
	d->flood_out[0] = proc_output(&bots[1], 0);
	d->flood_out[1] = proc_output(&bots[2], 0);
	const char *at = strstr(d->bots_out, "p99 ");
	d->p99_ms = at ? atof(at + 4) : -1;
	d->lost_links = count_lost_links();
	if (rc[0] != 0 || rc[1] != 0 || rc[2] != 0 || at == NULL) {
		fprintf(stderr, "wisp-bots exited %d, the flooders %d and %d\n",
			rc[0], rc[1], rc[2]);
		return -1;
	}
	return 0;
}

static void free_drill(struct drill *d)
{
	free(d->bots_out);
	free(d->flood_out[0]);
	free(d->flood_out[1]);
}

/* The frames wisp-flood says it queued. */
static long long flood_frames(const char *out)
{
	const char *at = out ? strstr(out, "wisp-flood: ") : NULL;
	return at ? atoll(at + 12) : -1;
}

/* 3 s of a command with no route (the gate fails each one), as fast as
 * the gate takes them: a few log lines a second at most. */
static void flood_unrouted(void)
{
	struct proc *net = &procs[DEMO_NODES - 1], *f = &bots[3];
	char *args[] = { (char *)flood_exe, "--command", "999", "--read", "yes",
		"--duration", "3", demo.gate, NULL };
	char *log = proc_output(net, 0);
	int before = proc_count_lines(log);
	free(log);
	f->label = "wisp-flood --command 999";
	CHECK_INT(proc_start(f, args, NULL), 0);
	CHECK_INT(proc_wait(f, RUN_MS), 0);
	char *out = proc_output(f, 0);
	long long frames = flood_frames(out);
	log = proc_output(net, 0);
	int added = proc_count_lines(log) - before;
	printf("%s%d lines logged by the net node meanwhile\n", out, added);
	CHECK(frames > 10000);
	CHECK(added <= 30);
	free(out);
	free(log);
}

static void test_drill(void)
{
	struct drill d;
	CHECK_INT(run_drill(&d), 0);
	for (int i = 0; i < 2; i++)
		printf("%s", d.flood_out[i] ? d.flood_out[i] : "");
	printf("%s", d.bots_out ? d.bots_out : "");
	printf("largest node RSS %.1f MB, bots' p99 %.2f ms\n", d.rss_mb,
		d.p99_ms);
	if (d.bots_out) {
		CHECK(strstr(d.bots_out, "summary: " BOTS " bots, " BOTS
			" logged in") != NULL);
		CHECK(strstr(d.bots_out, ", errors 0\n") != NULL);
		CHECK(demo_delivered(d.bots_out, "chat deliveries"));
		CHECK(demo_delivered(d.bots_out, "move pushes"));
	}
	for (int i = 0; i < 2; i++)
		CHECK(d.flood_out[i] && strstr(d.flood_out[i], "frames queued"));
	CHECK_INT(d.lost_links, 0);
	const char *sanitized = getenv("WISP_SANITIZED");
	if (!sanitized || strcmp(sanitized, "1") != 0)
		CHECK(d.rss_mb < RSS_LIMIT_MB);
	flood_unrouted();
	test_failures += demo_stop(procs, STOP_MS);
	free_drill(&d);
}

/* Best of ROUNDS: the lowest p99 and the lowest peak RSS. */
static void bench_drill(void)
{
	double p99 = -1, rss = -1;
	for (int r = 0; r < ROUNDS && !test_failures; r++) {
		struct drill d;
		if (run_drill(&d) < 0)
			test_failures++;
		else {
			fprintf(stderr, "round %d: p99 %.2f ms, RSS %.1f MB\n%s%s", r + 1,
				d.p99_ms, d.rss_mb, d.flood_out[0], d.flood_out[1]);
			if (p99 < 0 || d.p99_ms < p99)
				p99 = d.p99_ms;
			if (rss < 0 || d.rss_mb < rss)
				rss = d.rss_mb;
		}
		demo_stop(procs, STOP_MS);
		free_drill(&d);
		for (int i = 0; i < DEMO_NODES + CLIENTS; i++)
			proc_cleanup(&procs[i]);
	}
	if (!test_failures) {
		printf("BENCH gate_flood_p99_ms %.2f ms\n", p99);
		printf("BENCH flood_rss_mb %.1f MB\n", rss);
	}
}

int main(int argc, char **argv)
{
	if (argc < 5) {
		fprintf(stderr, "usage: test_flood WISP WISP_BOTS WISP_FLOOD "
			"SOURCE_ROOT [--bench]\n");
		return 2;
	}
	bots_exe = argv[2];
	flood_exe = argv[3];
	int bench = argc > 5 && strcmp(argv[5], "--bench") == 0;
	CHECK_INT(demo_init(&demo, argv[1], argv[4]), 0);
	proc_guard(procs, DEMO_NODES + CLIENTS, bench ? 590 : 170);
	if (!test_failures)
		bench ? bench_drill() : test_drill();
	proc_kill_all();
	for (int i = 0; i < DEMO_NODES + CLIENTS; i++)
		if (procs[i].label) {
			if (test_failures)
				proc_dump(&procs[i]);
			proc_cleanup(&procs[i]);
		}
	demo_remove(&demo, NULL);
	return TEST_END();
}
