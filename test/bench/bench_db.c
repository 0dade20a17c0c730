/* bench_db.c: runs one db benchmark on a real cluster on loopback
 * (test/bench/db/db.lua): the db node (also the root) with its database
 * in a fresh temporary directory, and a game node running
 * test/bench/db/bench_db.lua; for the _memcached figures, a memcached
 * server this program starts first; for the _pg ones, a throwaway
 * PostgreSQL server (pg_server.h, fsync and synchronous_commit on); for
 * db_stall, both nodes with the library WISP_SLOW_FSYNC_LIB names
 * preloaded (test/integration/slow_fsync.c: the game node turns it on)
 * and sqlite's synchronous full, so that every commit fsyncs.
 * Prints the BENCH line the game node logged and stops everyone. After
 * db_write_pg it measures PostgreSQL alone on the same server and table
 * (pgbench, one connection in pipeline mode, FLOOR_BATCH updates to a
 * commit: what wisp's db node does at best) and prints that as
 * db_write_pg_floor; and again with half as many updates to a commit,
 * printed as db_write_pg_floor_half. The benchmark's callers each wait
 * for their write's commit, so while one batch commits the other half
 * fill the next: its batches hold about half the callers, and the
 * server commits them one after the other on the one connection. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "../integration/pg_server.h"
#include "../integration/proc.h"

enum { DB, GAME, MEMCACHED, POSTGRES, PGBENCH, PROCS };

#define FLOOR_BATCH 100 /* the benchmark's callers: a commit holds no more */
#define FLOOR_ROUNDS 3
#define FLOOR_S "3"

static struct proc procs[PROCS];
static struct pg_server pg;

static int known(const char *name)
{
	static const char *const names[] = { "db_get", "db_write",
		"db_get_memcached", "db_write_memcached", "db_range", "db_get_pg",
		"db_write_pg", "db_range_pg", "db_stall", NULL };
	for (int i = 0; names[i]; i++)
		if (strcmp(name, names[i]) == 0)
			return 1;
	return 0;
}

static int start_memcached(char *env, size_t envsz)
{
	int port = free_port();
	char port_text[16];
	snprintf(port_text, sizeof(port_text), "%d", port);
	/* memcached refuses to run as root unless told to */
	char *args[] = { "/usr/bin/memcached", "-l", "127.0.0.1", "-p", port_text,
		"-U", "0", "-m", "256", geteuid() == 0 ? "-u" : NULL, "root", NULL };
	procs[MEMCACHED].label = "memcached";
	if (proc_start(&procs[MEMCACHED], args, NULL) < 0)
		return -1;
	int fd = tcp_connect(port, 5000); /* up once it accepts */
	if (fd < 0)
		return -1;
	close(fd);
	snprintf(env, envsz, "WISP_MEMCACHED=127.0.0.1:%d", port);
	return 0;
}

static int start_postgres(char *env, size_t envsz)
{
	char out[64], info[256];
	if (pg_server_find(&pg) < 0) {
		fprintf(stderr, "no PostgreSQL binaries in /usr/lib/postgresql/*/bin "
			"(tools/setup.sh installs them)\n");
		return -1;
	}
	if (pg_server_init(&pg, 1) < 0 || pg_server_start(&pg,
			&procs[POSTGRES]) < 0 || pg_server_sql(&pg, "postgres",
			"CREATE DATABASE bench", out, sizeof(out)) < 0)
		return -1;
	pg_server_conninfo(&pg, "bench", info, sizeof(info));
	snprintf(env, envsz, "WISP_PG=%s", info);
	return 0;
}

static int write_floor_script(const char *path, int batch)
{
	FILE *f = fopen(path, "w");
	if (f == NULL)
		return -1;
	fprintf(f, "\\startpipeline\nBEGIN;\n");
	for (int i = 0; i < batch; i++)
		fprintf(f, "\\set id random(1, 1000)\nUPDATE player SET level = "
			":id, gold = :id WHERE id = :id;\n");
	fprintf(f, "COMMIT;\n\\endpipeline\n");
	return fclose(f) == 0 ? 0 : -1;
}

/* pgbench's transactions per second over FLOOR_S seconds, or -1. */
static double pgbench_tps(const char *script)
{
	char pgbench[300], port[16];
	snprintf(pgbench, sizeof(pgbench), "%s/pgbench", pg.bin);
	snprintf(port, sizeof(port), "%d", pg.port);
	char *args[] = { pgbench, "-n", "-M", "prepared", "-c", "1", "-T",
		FLOOR_S, "-f", (char *)script, "-h", pg.dir, "-p", port, "-U",
		"wisp", "bench", NULL };
	struct proc *p = &procs[PGBENCH];
	if (p->label)
		proc_cleanup(p);
	*p = (struct proc){ .label = "pgbench" };
	if (proc_start(p, args, NULL) < 0 || proc_wait(p, 60000) != 0)
		return -1;
	char *out = proc_output(p, 0);
	const char *tps = out ? strstr(out, "tps = ") : NULL;
	double v = tps ? strtod(tps + 6, NULL) : -1;
	free(out);
	return v;
}

/* The best rows/s of FLOOR_ROUNDS pgbench runs of batch updates to a
 * commit, or -1. */
static double floor_rate(const char *dir, int batch)
{
	char script[600];
	snprintf(script, sizeof(script), "%s/floor%d.sql", dir, batch);
	if (write_floor_script(script, batch) < 0)
		return -1;
	double best = -1;
	for (int i = 0; i < FLOOR_ROUNDS; i++) {
		double tps = pgbench_tps(script);
		if (tps < 0)
			return -1;
		best = tps > best ? tps : best;
	}
	return best * batch;
}

static int print_floor(const char *dir)
{
	double whole = floor_rate(dir, FLOOR_BATCH);
	if (whole < 0)
		return -1;
	double half = floor_rate(dir, FLOOR_BATCH / 2);
	if (half < 0)
		return -1;
	printf("BENCH db_write_pg_floor %.0f rows/s\n", whole);
	printf("BENCH db_write_pg_floor_half %.0f rows/s (%d updates a commit)\n",
		half, FLOOR_BATCH / 2);
	return 0;
}

static int start_node(int i, const char *wisp, const char *conf,
	const char *node, char **env)
{
	char *args[] = { (char *)wisp, (char *)conf, (char *)node, NULL };
	procs[i].label = node;
	return proc_start(&procs[i], args, env);
}

static int run(const char *wisp, const char *conf, const char *name,
	char *dir)
{
	char port_env[64], file_env[600], bench_env[64], mc_env[64] = "";
	char pg_env[300] = "", preload_env[600] = "", flag_env[600] = "";
	int base = free_port_run(2);
	if (base < 0)
		return -1;
	snprintf(port_env, sizeof(port_env), "WISP_PORT_BASE=%d", base);
	snprintf(file_env, sizeof(file_env), "WISP_DB_FILE=%s/bench.db", dir);
	snprintf(bench_env, sizeof(bench_env), "WISP_BENCH=%s", name);
	if (strstr(name, "memcached") && start_memcached(mc_env,
			sizeof(mc_env)) < 0)
		return -1;
	if (strstr(name, "_pg") && start_postgres(pg_env, sizeof(pg_env)) < 0)
		return -1;
	char *env[8] = { port_env, file_env, bench_env };
	int n = 3;
	if (strcmp(name, "db_stall") == 0) {
		const char *lib = getenv("WISP_SLOW_FSYNC_LIB");
		if (lib == NULL) {
			fprintf(stderr, "set WISP_SLOW_FSYNC_LIB\n");
			return -1;
		}
		snprintf(preload_env, sizeof(preload_env), "LD_PRELOAD=%s", lib);
		snprintf(flag_env, sizeof(flag_env), "WISP_SLOW_FSYNC=%s/slow", dir);
		env[n++] = preload_env;
		env[n++] = flag_env;
		env[n++] = "WISP_DB_SYNC=full";
	}
	if (mc_env[0])
		env[n++] = mc_env;
	if (pg_env[0])
		env[n++] = pg_env;
	if (start_node(DB, wisp, conf, "db", env) < 0
		|| !proc_wait_output(&procs[DB], " open: ", 60000)
		|| start_node(GAME, wisp, conf, "game", env) < 0)
		return -1;
	int code = proc_wait(&procs[GAME], 550000);
	if (code != 0 || proc_print_bench(&procs[GAME]) == 0)
		return -1;
	return strcmp(name, "db_write_pg") == 0 ? print_floor(dir) : 0;
}

int main(int argc, char **argv)
{
	if (argc != 4 || !known(argv[3])) {
		fprintf(stderr, "usage: bench_db WISP SOURCE_ROOT db_get|db_write|"
			"db_get_memcached|db_write_memcached|db_range|db_get_pg|"
			"db_write_pg|db_range_pg|db_stall\n");
		return 2;
	}
	char conf[512], dir[] = "/tmp/wisp-bench-db-XXXXXX";
	snprintf(conf, sizeof(conf), "%s/test/bench/db/db.lua", argv[2]);
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	proc_guard(procs, PROCS, 0);
	int rc = run(argv[1], conf, argv[3], dir);
	if (rc < 0) {
		fprintf(stderr, "benchmark %s failed\n", argv[3]);
		for (int i = 0; i < PROCS; i++)
			if (procs[i].label)
				proc_dump(&procs[i]);
	}
	proc_kill_all();
	if (pg.dir[0])
		pg_server_remove(&pg);
	for (int i = 0; i < PROCS; i++)
		if (procs[i].label)
			proc_cleanup(&procs[i]);
	proc_remove_tree(dir);
	return rc < 0 ? 1 : 0;
}
