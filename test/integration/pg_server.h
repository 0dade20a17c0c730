/* pg_server.h: a throwaway PostgreSQL server for tests and benchmarks:
 * initdb in a temporary directory, postgres listening on a Unix socket in
 * that directory only (no TCP), run as nobody when the suite runs as
 * root, stopped and removed at the end. It never touches a system
 * instance. */
#ifndef WISP_PG_SERVER_H
#define WISP_PG_SERVER_H

#include <stddef.h>
#include "proc.h"

struct pg_server {
	char bin[256];   /* the directory of initdb and postgres */
	char dir[64];    /* data/ and the socket */
	int port;        /* names the socket: .s.PGSQL.PORT */
	int fsync;       /* off for tests: only the OS crashing loses data */
	struct proc *proc; /* the postmaster, the caller's storage */
};

/* Finds the binaries (/usr/lib/postgresql/N/bin): 0, or -1 when they are
 * not installed (the caller skips, saying so). */
int pg_server_find(struct pg_server *s);
/* Makes the directory and the cluster (superuser wisp, trust on the
 * socket): 0 or -1. */
int pg_server_init(struct pg_server *s, int fsync);
/* Starts postgres into p and waits until it answers (retrying while an
 * old one's backends still hold its memory): 0 or -1. */
int pg_server_start(struct pg_server *s, struct proc *p);
/* kill -9 of the postmaster and every backend, and waits for them. */
void pg_server_kill(struct pg_server *s);
/* Stops it at once (if running) and removes its directory. */
void pg_server_remove(struct pg_server *s);
/* The first line psql prints for query on database db, into out: 0, or
 * -1 if psql failed. */
int pg_server_sql(struct pg_server *s, const char *db, const char *query,
	char *out, size_t size);
/* libpq's conninfo for database db. */
void pg_server_conninfo(const struct pg_server *s, const char *db, char *out,
	size_t size);

#endif
