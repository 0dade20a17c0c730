/* test_scale.c: a cluster of N nodes on this machine, started as a whole
 * by the master from test/scale/scale.lua, whose collector (on the root)
 * logs what the members see. The cluster must form (every node sees
 * every other up), resolve cluster-wide names across nodes, and tell every
 * node when one is killed with -9 and when the master has it back; no
 * other node may be seen going down. As the `scale` test (50 nodes) that
 * is all; with --bench (1,000 nodes) it also prints how long formation
 * took from the master's start, an idle node's memory (RSS, and the part
 * of it that is the node's own), the root's memory and idle CPU per node,
 * and the frames one join costs the root. Every wait is bounded; the
 * master, and with it every node, is killed at the end whatever happened. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#include "proc.h"
#include "testlib.h"

#define LOW_FD_LIMIT 32 /* the soft limit the cluster starts with */
#define FORM_MS 240000  /* formation, generous for sanitizers and busy hosts */
#define WAIT_MS 60000   /* names, a death and a return */
#define IDLE_MS 3000    /* after formation, before memory is read */
#define CPU_MS 5000     /* the root's idle CPU is measured over this */
#define STOP_MS 120000  /* every node stopped in order */

static const char *wisp_exe, *rss_floor_exe;
static int count, bench;
static char conf[512], run_dir[64], ports_env[64], count_env[64];
static char victim[16];
static struct proc master = { .label = "master" };
/* the master's start: monotonic, and in ms of the epoch as logs say it */
static long long started_ms, started_wall_ms;

/* The root's log, where the collector writes. */
static char *root_log(void)
{
	return proc_node_file(run_dir, "root", "log");
}

/* Waits up to ms for a line of the collector starting with "scale: "
 * text; its frame count (the number after "root frames out"), 0 if it
 * has none, or -1 (a failure) if it never came. */
static long long wait_collector(const char *text, int ms)
{
	char key[128];
	snprintf(key, sizeof(key), "scale: %s", text);
	for (long long end = proc_now_ms() + ms; proc_now_ms() < end;) {
		char *log = root_log(), *at = strstr(log, key);
		long long frames = 0;
		if (at) {
			char *f = strstr(at, "(root frames out ");
			frames = f ? atoll(f + strlen("(root frames out ")) : 0;
		}
		free(log);
		if (at)
			return frames;
		proc_sleep_ms(20);
	}
	fprintf(stderr, "no \"%s\" in %s/root.log within %d ms\n", key, run_dir,
		ms);
	test_failures++;
	return -1;
}

static void start(void)
{
	int base = free_port_run(count);
	CHECK(base > 0);
	/* far below what the master (a file per node) and the root (two links
	 * per node) hold: each must raise it, as on a host whose soft limit
	 * is the usual 1,024 for a thousand nodes */
	struct rlimit rl;
	CHECK(getrlimit(RLIMIT_NOFILE, &rl) == 0);
	CHECK(rl.rlim_max == RLIM_INFINITY
		|| rl.rlim_max >= (rlim_t)(3 * count + 256));
	rl.rlim_cur = LOW_FD_LIMIT;
	CHECK(setrlimit(RLIMIT_NOFILE, &rl) == 0);
	snprintf(run_dir, sizeof(run_dir), "/tmp/wisp_scale_%d", (int)getpid());
	snprintf(ports_env, sizeof(ports_env), "WISP_PORT_BASE=%d", base);
	snprintf(count_env, sizeof(count_env), "WISP_SCALE_NODES=%d", count);
	char *env[] = { ports_env, count_env, NULL };
	char *args[] = { (char *)wisp_exe, "--run-dir", run_dir, conf, NULL };
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	started_wall_ms = now.tv_sec * 1000LL + now.tv_nsec / 1000000;
	started_ms = proc_now_ms();
	CHECK(proc_start(&master, args, env) == 0);
}

/* The time of the last line of text holding key ("2026-11-21
 * 15:42:40.123 ..."), in ms of the epoch; -1 if there is none. */
static long long logged_ms(const char *text, const char *key)
{
	const char *line = NULL;
	for (const char *at = strstr(text, key); at; at = strstr(at + 1, key))
		line = at;
	while (line && line > text && line[-1] != '\n')
		line--;
	struct tm tm = { .tm_isdst = -1 };
	const char *rest = line ? strptime(line, "%Y-%m-%d %H:%M:%S", &tm) : NULL;
	if (rest == NULL || rest[0] != '.')
		return -1;
	return (long long)mktime(&tm) * 1000 + atoi(rest + 1);
}

/* Where formation's time went, from the master's and the root's logs:
 * checking the config (the master loads it once per node), starting the
 * nodes, and the last joins. */
static void timeline(void)
{
	char *out = proc_output(&master, 0), *log = root_log(), last[32];
	snprintf(last, sizeof(last), "node n%d started", count);
	long long first = logged_ms(out, "node root started"),
		all = logged_ms(out, last), done = logged_ms(log, "scale: formed");
	if (first > 0 && all > 0 && done > 0)
		printf("scale: nodes started from %.2f s to %.2f s after the master's "
			"start (before: it checks the config as each node reads it); "
			"formed "
			"%.2f s after the last start\n",
			(double)(first - started_wall_ms) / 1000,
			(double)(all - started_wall_ms) / 1000, (double)(done - all) / 1000);
	free(out);
	free(log);
}

static void formed(void)
{
	char text[64];
	snprintf(text, sizeof(text), "formed %d ", count);
	long long frames = wait_collector(text, FORM_MS);
	double seconds = (double)(proc_now_ms() - started_ms) / 1000;
	if (frames < 0)
		return;
	printf("scale: %d nodes formed %.2f s after the master's start; the root "
		"sent %lld frames\n", count, seconds, frames);
	char *root = root_log();
	CHECK(proc_output_at(&master, "open-file limit raised from 32 ") >= 0);
	CHECK(strstr(root, "open-file limit raised from ") != NULL);
	free(root);
	timeline();
	if (bench)
		printf("BENCH cluster_form_%d_s %.2f s\n", count, seconds);
}

static void names(void)
{
	wait_collector("names resolved", WAIT_MS);
}

/* A line of a /proc file (whose size stat does not tell) that starts with
 * key, into line; 0, or -1 if there is none. */
static int proc_line(const char *path, const char *key, char *line,
	size_t size)
{
	FILE *f = fopen(path, "r");
	int found = 0;
	while (f && !found && fgets(line, (int)size, f))
		found = strncmp(line, key, strlen(key)) == 0;
	if (f)
		fclose(f);
	return found ? 0 : -1;
}

/* Kilobytes of field (e.g. "Private_Dirty:") in /proc/PID/smaps_rollup;
 * -1. */
static long smaps_kb(pid_t pid, const char *field)
{
	char path[64], line[256];
	snprintf(path, sizeof(path), "/proc/%d/smaps_rollup", (int)pid);
	if (proc_line(path, field, line, sizeof(line)) < 0)
		return -1;
	return atol(line + strlen(field));
}

/* Ticks of CPU (user + system) pid has used; -1. */
static long cpu_ticks(pid_t pid)
{
	char path[64], line[1024];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	long user, sys;
	char *at = proc_line(path, "", line, sizeof(line)) == 0
		? strrchr(line, ')') : NULL;
	if (at == NULL || sscanf(at, ") %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u "
			"%*u %ld %ld", &user, &sys) != 2)
		return -1;
	return user + sys;
}

struct memory {
	double rss, private, pss, count; /* KiB, summed over count nodes */
};

static void add_node(struct memory *m, pid_t pid)
{
	long rss = proc_rss_kb(pid), clean = smaps_kb(pid, "Private_Clean:"),
		dirty = smaps_kb(pid, "Private_Dirty:"), pss = smaps_kb(pid, "Pss:");
	CHECK(rss > 0 && clean >= 0 && dirty >= 0 && pss >= 0);
	m->rss += (double)rss;
	m->private += (double)(clean + dirty);
	m->pss += (double)pss;
	m->count++;
}

/* The root's CPU over CPU_MS while the cluster idles (heartbeats and
 * load reports), in % of a core. */
static double root_idle_cpu(pid_t root)
{
	long before = cpu_ticks(root);
	proc_sleep_ms(CPU_MS);
	long used = cpu_ticks(root) - before;
	return before < 0 ? -1 : 100.0 * (double)used
		/ (double)sysconf(_SC_CLK_TCK) / (CPU_MS / 1000.0);
}

/* The RSS of rss_floor (test/bench/rss_floor.c): libc and libcrypto
 * after one harbor key exchange, the least a node maps. -1 on failure. */
static double rss_floor_kb(void)
{
	struct proc floor = { .label = "rss_floor" };
	char *args[] = { (char *)rss_floor_exe, NULL };
	long kb = -1;
	if (proc_start(&floor, args, NULL) == 0
		&& proc_wait_output(&floor, "READY", 10000))
		kb = proc_rss_kb(floor.pid);
	proc_stop(&floor, 2000);
	proc_cleanup(&floor);
	return (double)kb;
}

/* An idle node's memory (every node but the root), and what the root
 * holds for each node beyond that. RSS counts the shared libraries'
 * pages as every process's own; private is what the node alone holds;
 * PSS adds its share of the shared pages. */
static void memory(void)
{
	if (!bench)
		return;
	proc_sleep_ms(IDLE_MS);
	struct memory nodes = { 0 };
	for (int id = 2; id <= count; id++) {
		char name[16];
		snprintf(name, sizeof(name), "n%d", id);
		add_node(&nodes, proc_started_pid(&master, name));
	}
	pid_t root = proc_started_pid(&master, "root");
	double rss = nodes.rss / nodes.count, private = nodes.private / nodes.count;
	double root_kb = (double)proc_rss_kb(root);
	printf("BENCH node_idle_rss_mb %.3f MB\n", rss / 1024);
	double floor_kb = rss_floor_kb();
	CHECK(floor_kb > 0);
	printf("BENCH node_idle_rss_floor_mb %.3f MB (a process of libc and "
		"libcrypto after one harbor key exchange)\n", floor_kb / 1024);
	printf("BENCH node_idle_private_mb %.3f MB\n", private / 1024);
	printf("BENCH node_idle_shared_mb %.3f MB\n", (rss - private) / 1024);
	/* the kernel's share of what the host holds for this node: its own
	 * pages, and each shared page divided among those that map it */
	printf("BENCH node_idle_pss_mb %.3f MB\n", nodes.pss / nodes.count / 1024);
	printf("BENCH root_kb_per_node %.2f KB\n", (root_kb - rss) / (count - 1));
	printf("BENCH root_idle_cpu_pct %.2f %%\n", root_idle_cpu(root));
}

/* kill -9 of one node: every other node must see it down, then up again
 * once the master has restarted it. */
static void death_and_return(void)
{
	char text[64];
	pid_t pid = proc_started_pid(&master, victim);
	CHECK(pid > 0 && kill(pid, SIGKILL) == 0);
	long long killed = proc_now_ms();
	snprintf(text, sizeof(text), "down %s seen by %d of %d", victim,
		count - 1, count - 1);
	long long frames_down = wait_collector(text, WAIT_MS);
	long long down_ms = proc_now_ms() - killed;
	snprintf(text, sizeof(text), "up %s seen by %d of %d", victim, count - 1,
		count - 1);
	long long frames_up = wait_collector(text, WAIT_MS);
	printf("scale: %s killed: every other node saw it down within %lld ms "
		"and back within %lld ms (the master waits 1000 ms to restart it)"
		"\n", victim, down_ms, proc_now_ms() - killed);
	if (frames_down >= 0 && frames_up >= 0)
		printf("%sjoin_frames %lld frames\n", bench ? "BENCH " : "scale: ",
			frames_up - frames_down);
}

/* Only the victim went down and came back, and every name resolved. */
static void nothing_else(void)
{
	char *log = root_log();
	int reports = 0;
	for (char *at = strstr(log, "scale: first report: "); at;
			at = strstr(at + 1, "scale: first report: "))
		reports++;
	CHECK_INT(reports, 2);
	CHECK(strstr(log, "did not resolve") == NULL);
	if (test_failures)
		fprintf(stderr, "the collector's log:\n%s\n", log);
	free(log);
}

/* The master stops every node in order and exits 0; no node wrote on
 * its stderr (a failed start, a sanitizer's report). */
static void stop(void)
{
	CHECK_INT(proc_stop(&master, STOP_MS), 0);
	int quiet = 1;
	for (int id = 1; id <= count && quiet; id++) {
		char name[16];
		snprintf(name, sizeof(name), id == 1 ? "root" : "n%d", id);
		quiet = proc_node_quiet(run_dir, name);
	}
	CHECK(quiet);
}

int main(int argc, char **argv)
{
	count = argc < 4 ? 0 : atoi(argv[3]);
	bench = argc > 4 && strcmp(argv[4], "--bench") == 0;
	if (count < 20 || count > 1023 || (bench && argc < 6)) {
		fprintf(stderr, "usage: test_scale WISP SOURCE_ROOT NODES [--bench "
			"RSS_FLOOR] (20 to 1023 nodes)\n");
		return 2;
	}
	wisp_exe = argv[1];
	rss_floor_exe = bench ? argv[5] : NULL;
	/* not a namer (n2, n12...) nor a resolver (n7, n17...) */
	snprintf(victim, sizeof(victim), "n%d", count / 20 * 10);
	snprintf(conf, sizeof(conf), "%s/test/scale/scale.lua", argv[2]);
	setvbuf(stdout, NULL, _IOLBF, 0);
	proc_guard(&master, 1, (FORM_MS + 4 * WAIT_MS + STOP_MS) / 1000 + 60);
	struct test_step steps[] = {
		{ "start", start }, { "formed", formed }, { "names", names },
		{ "memory", memory }, { "death_and_return", death_and_return },
		{ "nothing_else", nothing_else }, { "stop", stop },
	};
	RUN_STEPS(steps);
	proc_kill_all();
	proc_cleanup(&master);
	proc_remove_tree(run_dir);
	return TEST_END();
}
