/* bench_db.c: runs one db benchmark on a real cluster on loopback
 * (test/bench/db/db.lua): the db node (also the root) with its database
 * in a fresh temporary directory, and a game node running
 * test/bench/db/bench_db.lua; for the _memcached figures, a memcached
 * server this program starts first. Prints the BENCH line the game node
 * logged and stops everyone. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "../integration/proc.h"

enum { DB, GAME, MEMCACHED, PROCS };

static struct proc procs[PROCS];

static int known(const char *name)
{
	static const char *const names[] = { "db_get", "db_write",
		"db_get_memcached", "db_write_memcached", "db_range", NULL };
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
	int base = free_port_run(2);
	if (base < 0)
		return -1;
	snprintf(port_env, sizeof(port_env), "WISP_PORT_BASE=%d", base);
	snprintf(file_env, sizeof(file_env), "WISP_DB_FILE=%s/bench.db", dir);
	snprintf(bench_env, sizeof(bench_env), "WISP_BENCH=%s", name);
	if (strstr(name, "memcached") && start_memcached(mc_env,
			sizeof(mc_env)) < 0)
		return -1;
	char *env[] = { port_env, file_env, bench_env, mc_env[0] ? mc_env : NULL,
		NULL };
	if (start_node(DB, wisp, conf, "db", env) < 0
		|| !proc_wait_output(&procs[DB], " open: ", 10000)
		|| start_node(GAME, wisp, conf, "game", env) < 0)
		return -1;
	int code = proc_wait(&procs[GAME], 550000);
	return code == 0 && proc_print_bench(&procs[GAME]) > 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
	if (argc != 4 || !known(argv[3])) {
		fprintf(stderr, "usage: bench_db WISP SOURCE_ROOT db_get|db_write|"
			"db_get_memcached|db_write_memcached\n");
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
	for (int i = 0; i < PROCS; i++)
		if (procs[i].label)
			proc_cleanup(&procs[i]);
	proc_remove_tree(dir);
	return rc < 0 ? 1 : 0;
}
