/* sqlite_worker.h: a thread beside the node's that runs one SQL text at a
 * time on a sqlite3 connection (a COMMIT, whose fsync may take a second),
 * so that the node's thread keeps serving while it runs. The node's
 * thread hands the connection over for the job's whole run and touches
 * it again only once told the job is done. */
#ifndef WISP_SQLITE_WORKER_H
#define WISP_SQLITE_WORKER_H

#include <sqlite3.h>

struct wisp_sqlite_worker;

/* done(ud) runs on the node's thread, from its poll, once a job is done.
 * NULL with errno set if the thread or its eventfd cannot be made. */
struct wisp_sqlite_worker *wisp_sqlite_worker_start(sqlite3 *db,
	void (*done)(void *ud), void *ud);
/* Starts sql (copied) on the worker; -1 if a job is running or the text
 * is too long. */
int wisp_sqlite_worker_run(struct wisp_sqlite_worker *w, const char *sql);
int wisp_sqlite_worker_running(const struct wisp_sqlite_worker *w);
/* The last job's result: SQLITE_OK, or its extended error code with its
 * message in *message (valid until the next job). */
int wisp_sqlite_worker_result(const struct wisp_sqlite_worker *w,
	const char **message);
/* Waits for a running job (its done is not called), then ends the
 * thread. */
void wisp_sqlite_worker_stop(struct wisp_sqlite_worker *w);

#endif
