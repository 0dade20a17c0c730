/* sqlite_worker.c: the thread that runs a sqlite connection's slow jobs
 * (sqlite_worker.h). One job at a time: the node's thread hands it over
 * under the lock, the worker runs it and writes the eventfd the node's
 * poll watches, and the node's thread takes the result under the lock.
 * Between a job's start and its done the node's thread never touches the
 * connection (lsqlite.c refuses to), so the connection needs no mutex of
 * its own; sqlite's shared state is guarded by its core mutexes
 * (SQLITE_CONFIG_MULTITHREAD). */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include "socket.h"
#include "sqlite_worker.h"

#define SQL_MAX 256
#define MESSAGE_MAX 512

struct wisp_sqlite_worker {
	sqlite3 *db;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	int efd, watch;
	void (*done)(void *ud);
	void *ud;
	/* under lock */
	int job;      /* sql waits for the worker or runs */
	int finished; /* a job ended; the node's thread has not taken it */
	int quit;
	int rc;
	char sql[SQL_MAX];
	char message[MESSAGE_MAX];
	/* the node's thread only */
	int running;  /* a job started and its done not yet seen */
};

static void run_job(struct wisp_sqlite_worker *w)
{
	char *err = NULL;
	int rc = sqlite3_exec(w->db, w->sql, NULL, NULL, &err);
	if (rc != SQLITE_OK)
		rc = sqlite3_extended_errcode(w->db);
	pthread_mutex_lock(&w->lock);
	w->rc = rc;
	snprintf(w->message, sizeof(w->message), "%s",
		rc == SQLITE_OK ? "" : err ? err : sqlite3_errstr(rc));
	w->job = 0;
	w->finished = 1;
	pthread_mutex_unlock(&w->lock);
	sqlite3_free(err);
	uint64_t one = 1;
	while (write(w->efd, &one, sizeof(one)) < 0 && errno == EINTR)
		;
}

/* A job asked for before quit still runs: stop waits for it. */
static void *worker_main(void *arg)
{
	struct wisp_sqlite_worker *w = arg;
	pthread_mutex_lock(&w->lock);
	for (;;) {
		while (!w->job && !w->quit)
			pthread_cond_wait(&w->wake, &w->lock);
		if (!w->job)
			break;
		pthread_mutex_unlock(&w->lock);
		run_job(w);
		pthread_mutex_lock(&w->lock);
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

static void on_ready(void *ud)
{
	struct wisp_sqlite_worker *w = ud;
	uint64_t count;
	if (read(w->efd, &count, sizeof(count)) < 0)
		return;
	pthread_mutex_lock(&w->lock);
	int finished = w->finished;
	w->finished = 0;
	pthread_mutex_unlock(&w->lock);
	if (finished && w->running) {
		w->running = 0;
		w->done(w->ud);
	}
}

/* The thread is made with every signal blocked: the node reads its
 * signals from a signalfd, which only works if no thread takes them. */
static int start_thread(struct wisp_sqlite_worker *w)
{
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int rc = pthread_create(&w->thread, NULL, worker_main, w);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return rc;
}

struct wisp_sqlite_worker *wisp_sqlite_worker_start(sqlite3 *db,
	void (*done)(void *ud), void *ud)
{
	struct wisp_sqlite_worker *w = calloc(1, sizeof(*w));
	if (w == NULL)
		return NULL;
	w->db = db;
	w->done = done;
	w->ud = ud;
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->wake, NULL);
	w->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	w->watch = w->efd < 0 ? -1
		: wisp_poll_watch_events(w->efd, EPOLLIN, on_ready, w);
	int rc = w->watch < 0 ? errno : start_thread(w);
	if (rc != 0) {
		if (w->watch >= 0)
			wisp_poll_unwatch(w->efd, w->watch);
		if (w->efd >= 0)
			close(w->efd);
		pthread_cond_destroy(&w->wake);
		pthread_mutex_destroy(&w->lock);
		free(w);
		errno = rc;
		return NULL;
	}
	return w;
}

int wisp_sqlite_worker_run(struct wisp_sqlite_worker *w, const char *sql)
{
	if (w->running || strlen(sql) >= SQL_MAX)
		return -1;
	pthread_mutex_lock(&w->lock);
	memcpy(w->sql, sql, strlen(sql) + 1);
	w->job = 1;
	pthread_cond_signal(&w->wake);
	pthread_mutex_unlock(&w->lock);
	w->running = 1;
	return 0;
}

int wisp_sqlite_worker_running(const struct wisp_sqlite_worker *w)
{
	return w->running;
}

/* Read once the done is seen: the worker wrote it before, under the
 * lock, and writes nothing more until the next job. */
int wisp_sqlite_worker_result(const struct wisp_sqlite_worker *w,
	const char **message)
{
	*message = w->message;
	return w->rc;
}

void wisp_sqlite_worker_stop(struct wisp_sqlite_worker *w)
{
	pthread_mutex_lock(&w->lock);
	w->quit = 1;
	pthread_cond_signal(&w->wake);
	pthread_mutex_unlock(&w->lock);
	pthread_join(w->thread, NULL);
	wisp_poll_unwatch(w->efd, w->watch);
	close(w->efd);
	pthread_cond_destroy(&w->wake);
	pthread_mutex_destroy(&w->lock);
	free(w);
}
