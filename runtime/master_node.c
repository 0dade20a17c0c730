/* master_node.c: the life of one node under the master: its start as a
 * child process, what its exit means (a restart after a backoff, or the
 * end the master asked for) and the rotation of its log. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "log.h"
#include "master.h"

#define BACKOFF_FIRST_MS 1000
#define BACKOFF_MAX_MS 30000
#define BACKOFF_RESET_MS 60000 /* a node that ran this long starts afresh */
#define LOGS_KEPT 5            /* NODE.log.1 .. NODE.log.5 */

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

int wisp_master_node_start(struct wisp_master_node *n, const char *config)
{
	char *argv[] = { (char *)"wisp", (char *)"--log", n->log, (char *)config,
		n->name, NULL };
	if (n->backoff_ms == 0)
		n->backoff_ms = BACKOFF_FIRST_MS;
	n->restart_ms = 0;
	n->asked = 0;
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
		snprintf(died, sizeof(died), "died: %s", why);
		schedule_restart(n, died);
	}
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
