/* test_db.c: the db role across processes on loopback (test/db/cluster.lua):
 * a root, a db node and two game nodes, each its own `wisp` process, run
 * twice: with the row cache in the db node, then in a real memcached this
 * driver starts (and, on sqlite, synchronous full: every COMMIT then runs
 * on the db node's worker thread). The game nodes run the Lua cases (the scripts of
 * test/db/); the driver plays the world around them, following the
 * markers they log: it adds migrations between starts of the db node,
 * changes the database with the sqlite3 CLI, kills the db node (-9, and
 * SIGTERM) and memcached under load, and reads the database file itself
 * to check what was committed. Given "postgres", it runs the same on a
 * throwaway PostgreSQL server (pg_server.h) in place of the sqlite3 file,
 * reading it with psql, and also kills PostgreSQL (-9) under a write load
 * and starts it again. Every wait is bounded; every child is killed and
 * the temporary directories removed at the end, whatever happened. */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "pg_server.h"
#include "proc.h"
#include "testlib.h"

#define MEMCACHED "/usr/bin/memcached"
#define SQLITE3 "/usr/bin/sqlite3"
#define PORTS 5          /* root, db, game1, game2, memcached */
#define MEMCACHED_OFFSET 4
#define MAX_PROCS 48
#define START_MS 30000   /* a node's start, under the sanitizers too */
#define WAIT_MS 30000    /* any other wait for a marker */
#define GAME_MS 90000    /* a game script from start to exit */
#define STOP_MS 15000
#define WRITE_TASKS 20   /* as writes.lua */

/* The cases of each script, as its "lua tests: N passed" says. */
#define API_CASES 15
#define RESTART_CASES 4
#define INCR_CASES 2
#define WRITES_CASES 3
#define MCLOAD_CASES 2

static const char *wisp_exe, *source_root;
static char conf[512], top[64], port_env[64];
static int base_port;
static struct proc procs[MAX_PROCS];
static int proc_count;
static struct pg_server pg;

/* One run of the cases: its cache, its directory, its processes. */
struct run {
	const char *name; /* "memory" or "memcached", "pg-" before on PostgreSQL */
	int memcached;
	int postgres;     /* the database is pg's database of this name */
	char pg_env[300];
	char dir[128];    /* the database, migrations and gate files */
	char dir_env[160], mc_env[64];
	struct proc *root, *db, *mc;
};

static struct proc *spawn(char *const argv[], char *const env[],
	const char *label)
{
	if (proc_count == MAX_PROCS) {
		fprintf(stderr, "more than %d processes\n", MAX_PROCS);
		return NULL;
	}
	struct proc *p = &procs[proc_count];
	if (proc_start(p, argv, env) < 0)
		return NULL;
	p->label = label;
	proc_count++;
	return p;
}

/* `wisp cluster.lua NODE`, running script (with its arguments) if any. */
static struct proc *start_node(struct run *r, const char *node,
	const char *script)
{
	static char scripts[MAX_PROCS][64];
	char *env[7] = { port_env, r->dir_env };
	int n = 2;
	if (r->memcached)
		env[n++] = r->mc_env;
	if (r->memcached && !r->postgres)
		env[n++] = "WISP_DB_SYNC=full";
	if (r->postgres)
		env[n++] = r->pg_env;
	if (script) {
		snprintf(scripts[proc_count], sizeof(scripts[0]), "WISP_SCRIPT=%s",
			script);
		env[n++] = scripts[proc_count];
	}
	char *args[] = { (char *)wisp_exe, conf, (char *)node, NULL };
	return spawn(args, env, node);
}

/* A process that wrote to stderr met something its log does not say
 * (a sanitizer's report, a failed start): a failure. */
static void check_quiet(const struct proc *p)
{
	char *err = proc_output(p, 1);
	if (err[0] != '\0')
		fprintf(stderr, "%s wrote to stderr:\n%s\n", p->label, err);
	CHECK(err[0] == '\0');
	free(err);
}

/* Whether p's log (its stdout) holds text. */
static int has_text(const struct proc *p, const char *text)
{
	char *out = proc_output(p, 0);
	int found = strstr(out, text) != NULL;
	free(out);
	return found;
}

/* How many times p's log holds text. */
static int count_text(const struct proc *p, const char *text)
{
	char *out = proc_output(p, 0);
	int n = 0;
	for (char *at = strstr(out, text); at; at = strstr(at + 1, text))
		n++;
	free(out);
	return n;
}

/* Waits up to ms for a marker in p's log; a missing one is a failure. */
static int wait_marker(const struct proc *p, const char *text, int ms)
{
	if (p && proc_wait_output(p, text, ms))
		return 1;
	fprintf(stderr, "no \"%s\" from %s within %d ms\n", text,
		p ? p->label : "(not started)", ms);
	test_failures++;
	return 0;
}

/* The db node, started and open; NULL (a failure) if it did not open. */
static struct proc *start_db(struct run *r)
{
	struct proc *db = start_node(r, "db", NULL);
	if (!wait_marker(db, " open: ", START_MS))
		return NULL;
	CHECK(has_text(db, r->memcached ? "cache in memcached"
		: "cache in memory"));
	return db;
}

/* Stops the db node, which must exit 0 having logged no fault. */
static void stop_db(struct run *r)
{
	CHECK_INT(proc_stop(r->db, STOP_MS), 0);
	CHECK(!has_text(r->db, "traceback"));
	check_quiet(r->db);
	r->db = NULL;
}

/* Waits for a game script to end, which must exit 0 with its cases
 * passed. A failed case leaves the cluster as it was: the next go on. */
static int game_passed(struct proc *g, int cases)
{
	if (g == NULL)
		return 0;
	char done[64];
	snprintf(done, sizeof(done), "lua tests: %d passed, 0 failed", cases);
	int code = proc_wait(g, GAME_MS), passed = has_text(g, done);
	CHECK_INT(code, 0);
	CHECK(passed);
	check_quiet(g);
	return code == 0 && passed;
}

static void open_gate(struct run *r, const char *name)
{
	char path[192];
	snprintf(path, sizeof(path), "%s/%s", r->dir, name);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	CHECK(fd >= 0);
	if (fd >= 0)
		close(fd);
}

/* ---- the database, through the sqlite3 CLI or psql ---- */

/* The first line sqlite3 (or psql) prints for sql on this run's database,
 * into out; 0, or -1 if the CLI failed. It may run beside the db node:
 * WAL lets it, and .timeout waits out the node's write transactions. */
static int sql(struct run *r, const char *query, char *out, size_t size)
{
	if (r->postgres)
		return pg_server_sql(&pg, r->name + 3, query, out, size);
	char file[192];
	snprintf(file, sizeof(file), "%s/game.db", r->dir);
	char *args[] = { SQLITE3, "-batch", "-cmd", ".timeout 10000", file,
		(char *)query, NULL };
	return proc_run_line("sqlite3", args, 20000, out, size);
}

static long long sql_number(struct run *r, const char *query)
{
	char out[64];
	if (sql(r, query, out, sizeof(out)) < 0 || out[0] == '\0') {
		fprintf(stderr, "sqlite3 could not answer: %s\n", query);
		test_failures++;
		return -1;
	}
	return atoll(out);
}

/* ---- migrations: copied from test/db/migrations when the test says ---- */

static int copy_file(const char *from, const char *to)
{
	FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
	int ok = in && out;
	char buf[4096];
	size_t n;
	while (ok && (n = fread(buf, 1, sizeof(buf), in)) > 0)
		ok = fwrite(buf, 1, n, out) == n;
	if (in)
		fclose(in);
	if (out && fclose(out) != 0)
		ok = 0;
	return ok ? 0 : -1;
}

/* NAME.sql, and on PostgreSQL its NAME.pg.sql when there is one. */
static void add_migration(struct run *r, const char *name)
{
	char from[640], to[256];
	snprintf(from, sizeof(from), "%s/test/db/migrations/%s", source_root,
		name);
	snprintf(to, sizeof(to), "%s/migrations/%s", r->dir, name);
	CHECK(copy_file(from, to) == 0);
	size_t base = strlen(name) - strlen(".sql");
	snprintf(from, sizeof(from), "%s/test/db/migrations/%.*s.pg.sql",
		source_root, (int)base, name);
	snprintf(to, sizeof(to), "%s/migrations/%.*s.pg.sql", r->dir, (int)base,
		name);
	if (r->postgres && access(from, R_OK) == 0)
		CHECK(copy_file(from, to) == 0);
}

static void remove_migration(struct run *r, const char *name)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/migrations/%s", r->dir, name);
	CHECK(unlink(path) == 0);
}

/* ---- memcached ---- */

static struct proc *start_memcached(void)
{
	static char port[16];
	snprintf(port, sizeof(port), "%d", base_port + MEMCACHED_OFFSET);
	char *args[12] = { MEMCACHED, "-l", "127.0.0.1", "-p", port, "-U", "0",
		"-m", "64" };
	/* memcached refuses to run as root unless told which user to be */
	if (geteuid() == 0) {
		args[9] = "-u";
		args[10] = "root";
	}
	struct proc *mc = spawn(args, NULL, "memcached");
	int fd = mc ? tcp_connect(base_port + MEMCACHED_OFFSET, START_MS) : -1;
	CHECK(fd >= 0);
	if (fd < 0)
		return NULL;
	close(fd);
	return mc;
}

/* ---- the cases ---- */

/* Case 1 and the first half of case 2 (api.lua); the static table is
 * changed with the CLI while the db node runs, then reloaded. */
static int api_calls(struct run *r)
{
	struct proc *g = start_node(r, "game1", "api");
	if (!wait_marker(g, "CHANGE ITEM", WAIT_MS))
		return 0;
	char out[64];
	CHECK(sql(r, "UPDATE item SET price = 11 WHERE id = 1;", out,
		sizeof(out)) == 0);
	open_gate(r, "item.changed");
	game_passed(g, API_CASES);
	return 1;
}

/* A restart applies the new migration only; the rows come back
 * (restart.lua: the second half of case 2). */
static int restart_with_migration(struct run *r)
{
	stop_db(r);
	add_migration(r, "002_more.sql");
	r->db = start_db(r);
	if (r->db == NULL)
		return 0;
	CHECK(has_text(r->db, "applied migration 002_more.sql"));
	CHECK(!has_text(r->db, "applied migration 001_init.sql"));
	game_passed(start_node(r, "game1", "restart"), RESTART_CASES);
	return 1;
}

/* Case 3: two game nodes, 10,000 incr each on one row. */
static int concurrent_incr(struct run *r)
{
	struct proc *g1 = start_node(r, "game1", "incr");
	struct proc *g2 = start_node(r, "game2", "incr");
	if (!wait_marker(g1, "INCR READY", START_MS)
		|| !wait_marker(g2, "INCR READY", START_MS))
		return 0;
	open_gate(r, "incr.go");
	game_passed(g1, INCR_CASES);
	game_passed(g2, INCR_CASES);
	CHECK_INT(sql_number(r, "SELECT n FROM counter WHERE id = 'shared';"),
		20000);
	game_passed(start_node(r, "game1", "incr check"), INCR_CASES);
	return 1;
}

/* The number after key (as "acked=") in g's log, or -1. */
static long long logged_number(const struct proc *g, const char *key)
{
	char *out = proc_output(g, 0), *at = strstr(out, key);
	long long n = at ? atoll(at + strlen(key)) : -1;
	free(out);
	return n;
}

/* What the file holds of a phase's journal rows: at least every
 * acknowledged one, at most one more per task (a write committed whose
 * answer was lost), and for each task no gap in its sequence. */
static void check_journal(struct run *r, long long base, long long acked)
{
	char count[160], gaps[256];
	snprintf(count, sizeof(count), "SELECT count(*) FROM journal WHERE id "
		"BETWEEN %lld AND %lld;", base, base + 99999999);
	snprintf(gaps, sizeof(gaps), "SELECT count(*) FROM (SELECT task FROM "
		"journal WHERE id BETWEEN %lld AND %lld GROUP BY task "
		"HAVING max(seq) <> count(*)) AS gaps;", base, base + 99999999);
	long long rows = sql_number(r, count);
	if (rows < acked || rows > acked + WRITE_TASKS)
		fprintf(stderr, "%lld journal rows for %lld acknowledged writes\n",
			rows, acked);
	CHECK(rows >= acked && rows <= acked + WRITE_TASKS);
	CHECK_INT(sql_number(r, gaps), 0);
}

/* Cases 4 and 6: the db node goes down (signal) under a write load from
 * game1 (writes.lua); every write then fails, none hangs; after a
 * restart every acknowledged write is there. SIGTERM must exit 0. */
static int db_down_under_writes(struct run *r, const char *phase, int signal,
	long long base)
{
	char script[32], writing[32], stopped[32];
	snprintf(script, sizeof(script), "writes %s", phase);
	snprintf(writing, sizeof(writing), "WRITING %s", phase);
	snprintf(stopped, sizeof(stopped), "WRITES STOPPED %s", phase);
	struct proc *g = start_node(r, "game1", script);
	if (!wait_marker(g, writing, WAIT_MS))
		return 0;
	kill(r->db->pid, signal);
	int code = proc_wait(r->db, STOP_MS);
	CHECK_INT(code, signal == SIGKILL ? 128 + SIGKILL : 0);
	CHECK(!has_text(r->db, "traceback"));
	if (signal == SIGTERM)
		check_quiet(r->db);
	r->db = NULL;
	if (!wait_marker(g, stopped, GAME_MS))
		return 0;
	long long acked = logged_number(g, "acked=");
	CHECK(acked >= 300); /* writes.lua's mark came before the signal */
	r->db = start_db(r);
	if (r->db == NULL)
		return 0;
	game_passed(g, WRITES_CASES);
	check_journal(r, base, acked);
	return 1;
}

/* PostgreSQL killed (-9, every process of it) under a write load from
 * game1 (writes.lua "pgkill"): writes fail with an error while it is
 * away, the db node stays up and reconnects once it is started again,
 * and every acknowledged write is in the database. */
static int postgres_killed(struct run *r, long long base)
{
	struct proc *g = start_node(r, "game1", "writes pgkill");
	int connects = count_text(r->db, "postgres connected");
	if (!wait_marker(g, "WRITING pgkill", WAIT_MS))
		return 0;
	pg_server_kill(&pg);
	if (!wait_marker(g, "WRITES STOPPED pgkill", GAME_MS))
		return 0;
	CHECK(has_text(g, "db: postgres unavailable"));
	long long acked = logged_number(g, "acked=");
	CHECK(acked >= 300);
	CHECK(proc_count < MAX_PROCS);
	if (proc_count == MAX_PROCS
		|| pg_server_start(&pg, &procs[proc_count++]) < 0)
		return 0;
	if (!proc_wait_log_count(r->db, "postgres connected", connects + 1,
			WAIT_MS * 2)) {
		fprintf(stderr, "the db node did not connect to PostgreSQL again\n");
		test_failures++;
		return 0;
	}
	game_passed(g, WRITES_CASES);
	check_journal(r, base, acked);
	CHECK(r->db->running);
	return 1;
}

/* Case 5: memcached killed and started again under load (mcload.lua). */
static int memcached_outage(struct run *r)
{
	struct proc *g = start_node(r, "game1", "mcload");
	if (!wait_marker(g, "LOAD RUNNING", WAIT_MS))
		return 0;
	kill(r->mc->pid, SIGKILL);
	CHECK_INT(proc_wait(r->mc, STOP_MS), 128 + SIGKILL);
	if (!wait_marker(r->db, "memcached unavailable", WAIT_MS))
		return 0;
	r->mc = start_memcached();
	if (r->mc == NULL || !wait_marker(r->db, "memcached is back", WAIT_MS))
		return 0;
	open_gate(r, "memcached.back");
	game_passed(g, MCLOAD_CASES);
	CHECK_INT(sql_number(r, "SELECT sum(n) FROM counter "
		"WHERE id LIKE 'load:%';"), logged_number(g, "incrs="));
	CHECK_INT(count_text(r->db, "memcached unavailable"), 1);
	CHECK_INT(count_text(r->db, "memcached is back"), 1);
	return 1;
}

/* A failing migration stops the db node (exit != 0, the error in its
 * log) and leaves nothing of itself; removed, the node starts and
 * applies nothing again. */
static int failing_migration(struct run *r)
{
	stop_db(r);
	add_migration(r, "003_broken.sql");
	struct proc *bad = start_node(r, "db", NULL);
	int code = bad ? proc_wait(bad, START_MS) : -1;
	CHECK(code > 0 && code < 128);
	CHECK(bad && has_text(bad, "migration 003_broken.sql failed"));
	CHECK(bad && has_text(bad, r->postgres
		? "relation \"no_such_table\" does not exist"
		: "no such table: no_such_table"));
	CHECK_INT(sql_number(r, r->postgres ? "SELECT count(*) FROM pg_class "
		"WHERE relname = 'half_done';" : "SELECT count(*) FROM "
		"sqlite_schema WHERE name = 'half_done';"), 0);
	CHECK_INT(sql_number(r, "SELECT count(*) FROM wisp_migrations;"), 2);
	remove_migration(r, "003_broken.sql");
	r->db = start_db(r);
	if (r->db == NULL)
		return 0;
	CHECK(!has_text(r->db, "applied migration"));
	stop_db(r);
	return 1;
}

/* Every case against one cache; one that leaves no db node (or no
 * memcached) to go on with ends the run. */
static void run_cases(struct run *r)
{
	if (r->memcached && (r->mc = start_memcached()) == NULL)
		return;
	r->root = start_node(r, "root", NULL);
	r->db = start_db(r);
	if (r->root == NULL || r->db == NULL)
		return;
	CHECK(has_text(r->db, r->postgres ? "applied migration 001_init.pg.sql"
		: "applied migration 001_init.sql"));
	if (!api_calls(r) || !restart_with_migration(r) || !concurrent_incr(r)
		|| !db_down_under_writes(r, "kill", SIGKILL, 100000000))
		return;
	if (r->memcached && !memcached_outage(r))
		return;
	if (r->postgres && !postgres_killed(r, 300000000))
		return;
	if (!db_down_under_writes(r, "term", SIGTERM, 200000000)
		|| !failing_migration(r))
		return;
	CHECK_INT(proc_stop(r->root, STOP_MS), 0);
	check_quiet(r->root);
}

static void run(const char *name, int memcached)
{
	struct run r = { .name = name, .memcached = memcached,
		.postgres = strncmp(name, "pg-", 3) == 0 };
	/* postgres is one of procs, so that a guard's kill takes it too: it
	 * starts again for each run, since the end of one kills it */
	if (r.postgres && (proc_count == MAX_PROCS
		|| pg_server_start(&pg, &procs[proc_count++]) < 0)) {
		fprintf(stderr, "cannot start PostgreSQL\n");
		test_failures++;
		return;
	}
	if (r.postgres) {
		char create[64], out[64], info[256];
		snprintf(create, sizeof(create), "CREATE DATABASE \"%s\"",
			name + 3);
		CHECK(pg_server_sql(&pg, "postgres", create, out, sizeof(out)) == 0);
		pg_server_conninfo(&pg, name + 3, info, sizeof(info));
		snprintf(r.pg_env, sizeof(r.pg_env), "WISP_PG=%s", info);
	}
	snprintf(r.dir, sizeof(r.dir), "%s/%s", top, name);
	snprintf(r.dir_env, sizeof(r.dir_env), "WISP_DB_DIR=%s", r.dir);
	snprintf(r.mc_env, sizeof(r.mc_env), "WISP_MEMCACHED=127.0.0.1:%d",
		base_port + MEMCACHED_OFFSET);
	char migrations[160];
	snprintf(migrations, sizeof(migrations), "%s/migrations", r.dir);
	CHECK(mkdir(r.dir, 0700) == 0 && mkdir(migrations, 0700) == 0);
	add_migration(&r, "001_init.sql");
	int before = test_failures, first = proc_count;
	run_cases(&r);
	proc_kill_all();
	if (test_failures != before) {
		fprintf(stderr, "FAIL with the cache in %s\n", name);
		for (int i = first; i < proc_count; i++)
			proc_dump(&procs[i]);
	}
}

int main(int argc, char **argv)
{
	if (argc != 3 && !(argc == 4 && strcmp(argv[3], "postgres") == 0)) {
		fprintf(stderr, "usage: test_db WISP SOURCE_ROOT [postgres]\n");
		return 2;
	}
	int postgres = argc == 4;
	if (postgres && pg_server_find(&pg) < 0) {
		printf("SKIP: no PostgreSQL binaries in /usr/lib/postgresql/*/bin "
			"(tools/setup.sh installs them)\n");
		return 77;
	}
	wisp_exe = argv[1];
	source_root = argv[2];
	snprintf(conf, sizeof(conf), "%s/test/db/cluster.lua", source_root);
	snprintf(top, sizeof(top), "/tmp/wisp_db_XXXXXX");
	base_port = free_port_run(PORTS);
	CHECK(base_port > 0);
	CHECK(mkdtemp(top) != NULL);
	snprintf(port_env, sizeof(port_env), "WISP_PORT_BASE=%d", base_port);
	proc_guard(procs, MAX_PROCS, 280); /* under meson's timeout of 300 s */

	if (postgres && pg_server_init(&pg, 0) < 0) {
		fprintf(stderr, "cannot make a PostgreSQL cluster\n");
		test_failures++;
	}
	if (base_port > 0 && test_failures == 0) {
		run(postgres ? "pg-memory" : "memory", 0);
		run(postgres ? "pg-memcached" : "memcached", 1);
	}
	proc_kill_all();
	if (postgres)
		pg_server_remove(&pg);
	for (int i = 0; i < proc_count; i++)
		proc_cleanup(&procs[i]);
	proc_remove_tree(top);
	return TEST_END();
}
