/* pg_server.c: a throwaway PostgreSQL server for tests (pg_server.h).
 * As root, initdb and postgres (which refuse to run as root) run as
 * nobody through setpriv, in a directory given to nobody. */
#include "pg_server.h"
#include <glob.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define PSQL "/usr/bin/psql"
#define START_MS 30000
#define USER "nobody"

int pg_server_find(struct pg_server *s)
{
	glob_t g;
	memset(s, 0, sizeof(*s));
	if (glob("/usr/lib/postgresql/*/bin/postgres", 0, NULL, &g) != 0)
		return -1;
	/* the last is the newest version installed */
	snprintf(s->bin, sizeof(s->bin), "%s", g.gl_pathv[g.gl_pathc - 1]);
	globfree(&g);
	*strrchr(s->bin, '/') = '\0';
	return access(PSQL, X_OK) == 0 ? 0 : -1;
}

/* argv with setpriv in front when root; args must end with NULL, and out
 * have room for 5 more. */
static void as_user(char **out, char *const *args)
{
	int n = 0;
	if (geteuid() == 0) {
		static char *const drop[] = { "/usr/bin/setpriv", "--reuid=" USER,
			"--regid=nogroup", "--clear-groups", "--" };
		for (size_t i = 0; i < sizeof(drop) / sizeof(*drop); i++)
			out[n++] = drop[i];
	}
	for (int i = 0; args[i]; i++)
		out[n++] = args[i];
	out[n] = NULL;
}

static int run(char *const *argv, const char *label)
{
	struct proc p = { .label = label };
	if (proc_start(&p, argv, NULL) < 0)
		return -1;
	int code = proc_wait(&p, 120000);
	if (code != 0)
		proc_dump(&p);
	proc_cleanup(&p);
	return code == 0 ? 0 : -1;
}

int pg_server_init(struct pg_server *s, int fsync)
{
	snprintf(s->dir, sizeof(s->dir), "/tmp/wisp_pg_XXXXXX");
	if (mkdtemp(s->dir) == NULL || chmod(s->dir, 0755) < 0)
		return -1;
	struct passwd *pw = getpwnam(USER);
	if (geteuid() == 0 && (pw == NULL
		|| chown(s->dir, pw->pw_uid, pw->pw_gid) < 0))
		return -1;
	s->fsync = fsync;
	s->port = 5432;
	char initdb[300], data[96];
	snprintf(initdb, sizeof(initdb), "%s/initdb", s->bin);
	snprintf(data, sizeof(data), "%s/data", s->dir);
	char *args[] = { initdb, "-D", data, "-U", "wisp", "-A", "trust",
		"--no-sync", "-E", "UTF8", "--locale=C", NULL };
	char *argv[32];
	as_user(argv, args);
	return run(argv, "initdb");
}

static int answers(struct pg_server *s)
{
	char out[32];
	return pg_server_sql(s, "postgres", "SELECT 1", out, sizeof(out)) == 0
		&& strcmp(out, "1") == 0;
}

static int exited(struct proc *p)
{
	int status;
	if (waitpid(p->pid, &status, WNOHANG) != p->pid)
		return 0;
	p->running = 0;
	return 1;
}

int pg_server_start(struct pg_server *s, struct proc *p)
{
	char postgres[300], data[96], port[16];
	snprintf(postgres, sizeof(postgres), "%s/postgres", s->bin);
	snprintf(data, sizeof(data), "%s/data", s->dir);
	snprintf(port, sizeof(port), "%d", s->port);
	char *args[] = { postgres, "-D", data, "-k", s->dir, "-p", port,
		"-c", "listen_addresses=", "-c", s->fsync ? "fsync=on"
		: "fsync=off", "-c", "max_connections=20", NULL };
	char *argv[32];
	as_user(argv, args);
	long long until = proc_now_ms() + START_MS;
	s->proc = p;
	while (proc_now_ms() < until) {
		*p = (struct proc){ .label = "postgres" };
		if (proc_start(p, argv, NULL) < 0)
			return -1;
		/* an early exit: an old backend still holds the memory */
		while (proc_now_ms() < until && !exited(p)) {
			if (answers(s))
				return 0;
			proc_sleep_ms(100);
		}
		proc_sleep_ms(200);
	}
	fprintf(stderr, "postgres did not start within %d ms\n", START_MS);
	proc_dump(p);
	return -1;
}

/* The backends: the postmaster's children (by its pid). */
static void kill_backends(pid_t parent)
{
	char cmd[96];
	snprintf(cmd, sizeof(cmd), "pkill -KILL -P %d", (int)parent);
	if (system(cmd) < 0)
		perror("pkill");
}

void pg_server_kill(struct pg_server *s)
{
	if (s->proc == NULL || !s->proc->running)
		return;
	pid_t pid = s->proc->pid;
	kill_backends(pid);
	kill(pid, SIGKILL);
	proc_wait(s->proc, 10000);
}

void pg_server_remove(struct pg_server *s)
{
	pg_server_kill(s);
	if (s->proc)
		proc_cleanup(s->proc);
	s->proc = NULL;
	if (s->dir[0])
		proc_remove_tree(s->dir);
	s->dir[0] = '\0';
}

int pg_server_sql(struct pg_server *s, const char *db, const char *query,
	char *out, size_t size)
{
	char port[16];
	snprintf(port, sizeof(port), "%d", s->port);
	char *args[] = { PSQL, "-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1",
		"-h", s->dir, "-p", port, "-U", "wisp", "-d", (char *)db, "-c",
		(char *)query, NULL };
	return proc_run_line("psql", args, 20000, out, size);
}

void pg_server_conninfo(const struct pg_server *s, const char *db, char *out,
	size_t size)
{
	snprintf(out, size, "host=%s port=%d user=wisp dbname=%s", s->dir,
		s->port, db);
}
