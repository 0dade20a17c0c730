/* master_node.c: the life of one node under the master: its start as a
 * child process, what its exit means (a restart after a backoff, or the
 * end the master asked for), the watchdog that kills it when it is stuck,
 * and the rotation of its log. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "log.h"
#include "master.h"
#include "watch.h"

#define BACKOFF_FIRST_MS 1000
#define BACKOFF_MAX_MS 30000
#define BACKOFF_RESET_MS 60000 /* a node that ran this long starts afresh */
#define LOGS_KEPT 5            /* NODE.log.1 .. NODE.log.5 */
#define ABORT_GRACE_MS 10000   /* for a core to be written, before SIGKILL */

/* In the child, from fork to exec. The node blocks SIGTERM, SIGINT and
 * SIGHUP and reads them from its signalfd; blocking them from here on
 * means that one sent while it is still starting waits for it instead of
 * killing it. Its own process group keeps a terminal's ^C away from it:
 * only the master decides the order of the stop. */
static void exec_node(const struct wisp_master_node *n, char *const argv[],
	pid_t master)
{
	prctl(PR_SET_PDEATHSIG, SIGTERM); /* the master gone, the node stops */
	if (getppid() != master)
		_exit(127); /* it went before the line above took effect */
	setpgid(0, 0);
	int out = open(n->out, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	int in = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (out < 0 || in < 0)
		_exit(127);
	if (n->watch)
		fcntl(n->watch_fd, F_SETFD, 0); /* its own page, not the others' */
	dup2(in, 0);
	dup2(out, 1);
	dup2(out, 2);
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_SETMASK, &set, NULL);
	signal(SIGPIPE, SIG_DFL);
	execv("/proc/self/exe", argv);
	dprintf(2, "wisp master: cannot run /proc/self/exe: %s\n", strerror(errno));
	_exit(127);
}

/* Tries again after the backoff, which doubles each time up to its cap. */
static void schedule_restart(struct wisp_master_node *n, const char *why)
{
	long long now = wisp_master_now();
	if (n->started_ms && now - n->started_ms >= BACKOFF_RESET_MS)
		n->backoff_ms = BACKOFF_FIRST_MS;
	wisp_master_log(WISP_LOG_WARN, "node %s %s; restarting in %u ms", n->name,
		why, n->backoff_ms);
	n->restart_ms = now + n->backoff_ms;
	n->backoff_ms = n->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS
		: n->backoff_ms * 2;
}

/* The node's watch page, made at its first start and cleared at each;
 * a node whose page cannot be made runs unwatched, and the log says so. */
static void prepare_watch(struct wisp_master_node *n, long long now)
{
	if (n->watchdog_ms && n->watch == NULL) {
		n->watch = wisp_watch_create(n->name, &n->watch_fd);
		if (n->watch == NULL) {
			wisp_master_log(WISP_LOG_WARN, "node %s runs unwatched: no "
				"watch page (%s)", n->name, strerror(errno));
			n->watchdog_ms = 0;
		}
	}
	if (n->watch)
		memset(n->watch, 0, sizeof(*n->watch)); /* starting: not judged */
	n->seen = 0;
	n->looked_ms = n->moved_ms = now;
	n->aborted_ms = 0;
	n->abort_killed = 0;
}

/* wisp --log LOG [--watch FD] CONFIG NODE; fd holds FD's digits. */
static void node_args(const struct wisp_master_node *n, const char *config,
	char *argv[8], char fd[16])
{
	int argc = 0;
	argv[argc++] = (char *)"wisp";
	argv[argc++] = (char *)"--log";
	argv[argc++] = n->log;
	if (n->watch) {
		snprintf(fd, 16, "%d", n->watch_fd);
		argv[argc++] = (char *)"--watch";
		argv[argc++] = fd;
	}
	argv[argc++] = (char *)config;
	argv[argc++] = n->name;
	argv[argc] = NULL;
}

int wisp_master_node_start(struct wisp_master_node *n, const char *config)
{
	char *argv[8], fd[16];
	prepare_watch(n, wisp_master_now());
	node_args(n, config, argv, fd);
	if (n->backoff_ms == 0)
		n->backoff_ms = BACKOFF_FIRST_MS;
	n->restart_ms = 0;
	n->asked = 0;
	n->out_from = wisp_master_out_size(n->out);
	pid_t master = getpid(), pid = fork();
	if (pid == 0)
		exec_node(n, argv, master);
	if (pid < 0) {
		char why[128];
		snprintf(why, sizeof(why), "cannot be started (fork: %s)",
			strerror(errno));
		schedule_restart(n, why);
		return -1;
	}
	n->pid = pid;
	n->started_ms = wisp_master_now();
	wisp_master_log(WISP_LOG_INFO, "node %s started (pid %d)", n->name,
		(int)pid);
	return 0;
}

/* "killed by signal 9 (SIGKILL)" */
static void describe_signal(int status, char *buf, size_t sz)
{
	int sig = WTERMSIG(status);
	const char *abbrev = sigabbrev_np(sig);
	snprintf(buf, sz, "killed by signal %d (SIG%s)", sig, abbrev ? abbrev
		: "?");
}

/* A node asked to stop says how it went; any other exit is a death, and
 * a death is followed by a restart unless the master is stopping. */
void wisp_master_node_exited(struct wisp_master_node *n, int status,
	int stopping)
{
	char why[96];
	if (WIFSIGNALED(status))
		describe_signal(status, why, sizeof(why));
	else
		snprintf(why, sizeof(why), "exited with code %d",
			WEXITSTATUS(status));
	n->pid = 0;
	n->failed = !(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	if (n->asked && WIFEXITED(status))
		wisp_master_log(n->failed ? WISP_LOG_WARN : WISP_LOG_INFO,
			"node %s stopped (exit %d)", n->name, WEXITSTATUS(status));
	else if (n->asked)
		wisp_master_log(WISP_LOG_WARN, "node %s stopped: %s", n->name, why);
	else if (stopping)
		wisp_master_log(WISP_LOG_WARN, "node %s died: %s; not restarted: "
			"the master is stopping", n->name, why);
	else {
		char died[128];
		snprintf(died, sizeof(died), "died: %s%s", why, n->aborted_ms
			? " after it was stuck" : "");
		schedule_restart(n, died);
	}
	if (n->failed)
		wisp_master_out_tell(n);
}

/* T (stopped), t (traced), Z or X (gone, not yet reaped) in
 * /proc/PID/stat: a node held by SIGSTOP or a debugger, or one that just
 * ended, is not stuck. */
static int halted(pid_t pid)
{
	char path[64], buf[256];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return 0;
	size_t len = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[len] = '\0';
	char *paren = strrchr(buf, ')'); /* after the name, which may hold any */
	return paren && paren[1] == ' ' && paren[2] && strchr("TtZX", paren[2]);
}

/* SIGABRT, not SIGKILL: a core shows where it was stuck. */
static void abort_stuck(struct wisp_master_node *n, long long now)
{
	const struct wisp_watch *w = n->watch;
	char label[WISP_WATCH_LABEL];
	memcpy(label, w->label, sizeof(label));
	label[sizeof(label) - 1] = '\0';
	uint32_t h = atomic_load_explicit(&w->handle, memory_order_relaxed);
	int type = atomic_load_explicit(&w->type, memory_order_relaxed);
	if (h)
		wisp_master_log(WISP_LOG_ERROR, "node %s stuck for %lld ms in service "
			"%s :%08x (message type %d); killing it with SIGABRT", n->name,
			now - n->moved_ms, label, h, type);
	else
		wisp_master_log(WISP_LOG_ERROR, "node %s stuck for %lld ms outside "
			"any service; killing it with SIGABRT", n->name,
			now - n->moved_ms);
	kill(n->pid, SIGABRT);
	n->aborted_ms = now;
}

/* A node that outlives SIGABRT (it handles it, or its core takes long to
 * write) gets SIGKILL. */
static void finish_abort(struct wisp_master_node *n, long long now)
{
	if (n->abort_killed || now - n->aborted_ms < ABORT_GRACE_MS)
		return;
	wisp_master_log(WISP_LOG_WARN, "node %s did not end within %d ms of "
		"SIGABRT; killing it", n->name, ABORT_GRACE_MS);
	kill(n->pid, SIGKILL);
	n->abort_killed = 1;
}

/* Progress, or waiting for events, moves the node's mark; a mark older
 * than watchdog_ms means stuck. A look long after the last (the master
 * itself held up) proves nothing, so it only moves the mark. A node the
 * master asked to stop is the stop's business. */
void wisp_master_node_watch(struct wisp_master_node *n, long long now)
{
	if (n->pid == 0 || n->watch == NULL || n->asked)
		return;
	if (n->aborted_ms) {
		finish_abort(n, now);
		return;
	}
	uint64_t progress = atomic_load_explicit(&n->watch->progress,
		memory_order_relaxed);
	uint32_t state = atomic_load_explicit(&n->watch->state,
		memory_order_relaxed);
	int blind = now - n->looked_ms > n->watchdog_ms / 2;
	n->looked_ms = now;
	if (blind || progress != n->seen || state != WISP_WATCH_RUNNING) {
		n->seen = progress;
		n->moved_ms = now;
	} else if (now - n->moved_ms >= n->watchdog_ms) {
		if (halted(n->pid))
			n->moved_ms = now;
		else
			abort_stuck(n, now);
	}
}

void wisp_master_node_release(struct wisp_master_node *n)
{
	if (n->watch) {
		munmap(n->watch, sizeof(*n->watch));
		close(n->watch_fd);
	}
	free(n->name);
	free(n->log);
	free(n->out);
}

/* NODE.log, or NODE.log.k */
static void log_name(char *buf, size_t sz, const char *log, int k)
{
	if (k == 0)
		snprintf(buf, sz, "%s", log);
	else
		snprintf(buf, sz, "%s.%d", log, k);
}

/* NODE.log.k -> NODE.log.(k+1), oldest first, then NODE.log -> NODE.log.1:
 * the oldest kept is replaced. Then the node reopens its log, anew. */
void wisp_master_node_rotate(struct wisp_master_node *n, size_t max)
{
	struct stat st;
	if (stat(n->log, &st) < 0 || (size_t)st.st_size <= max)
		return;
	char from[PATH_MAX], to[PATH_MAX];
	for (int k = LOGS_KEPT - 1; k >= 0; k--) {
		log_name(from, sizeof(from), n->log, k);
		log_name(to, sizeof(to), n->log, k + 1);
		if (rename(from, to) < 0 && errno != ENOENT)
			wisp_master_log(WISP_LOG_WARN, "cannot rename %s to %s: %s", from,
				to, strerror(errno));
	}
	if (n->pid)
		kill(n->pid, SIGHUP); /* not running: its next start opens it */
	wisp_master_log(WISP_LOG_INFO, "rotated %s (%lld bytes)", n->log,
		(long long)st.st_size);
}
