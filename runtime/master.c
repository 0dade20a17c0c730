/* master.c: the master's cluster and loop. It reads every node of the
 * config, starts them (roots first, then db nodes, then the rest; nobody
 * waits: nodes join the root when it comes), then polls a signalfd with a
 * one-second tick: children that exit are reaped with waitpid(WNOHANG)
 * and started again when due, logs are rotated, and SIGTERM or SIGINT
 * stops the nodes stage by stage. Between ticks, as often as the shortest
 * watchdog needs, it looks whether a node is stuck. One thread: every
 * event comes through the one poll. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "alloc.h"
#include "config.h"
#include "log.h"
#include "master.h"
#include "process.h"

#define TICK_MS 1000
#define STOP_GRACE_MS 2000 /* beyond the config's stop_timeout */
#define LOOK_MIN_MS 50     /* the shortest time between looks at nodes */
#define SPARE_FDS 64       /* beyond a file per node: logs, signals, pipes */

static struct {
	const char *config;
	struct wisp_master_options opt;
	struct wisp_master_node *nodes; /* in start order */
	size_t count;
	uint32_t stop_wait_ms; /* a stage's nodes get this long to exit */
	long long look_ms;     /* how often nodes are looked at for progress */
	int signal_fd;
	int stopping;          /* SIGTERM or SIGINT came */
	int stage;             /* the stage being stopped */
	long long deadline;    /* of that stage; 0: not asked yet */
	int killed;            /* its laggards got SIGKILL */
	size_t in_config;      /* the config's nodes, started or not */
	size_t listed, found;  /* names in --nodes, and those in the config */
} M;

static const char *const stage_names[] = { "net", "game", "db", "root" };

long long wisp_master_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* "2026-11-21 15:42:40.123 INFO  master ...", as log.c writes nodes' */
void wisp_master_log(int level, const char *fmt, ...)
{
	static const char *const tags[] = { "DEBUG", "INFO ", "WARN ", "ERROR" };
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	localtime_r(&ts.tv_sec, &tm);
	char when[32], line[2048];
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
	int n = snprintf(line, sizeof(line), "%s.%03ld %s master ", when,
		ts.tv_nsec / 1000000, tags[level]);
	va_list ap;
	va_start(ap, fmt);
	n += vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(line) - 2)
		n = (int)sizeof(line) - 2; /* cut long lines, keep the newline */
	line[n++] = '\n';
	fwrite(line, 1, (size_t)n, stdout);
	fflush(stdout);
}

static enum wisp_master_stage stage_of(unsigned roles)
{
	if (roles & WISP_ROLE_ROOT)
		return WISP_STAGE_ROOT;
	if (roles & WISP_ROLE_DB)
		return WISP_STAGE_DB;
	if (roles & WISP_ROLE_NODE)
		return WISP_STAGE_GAME;
	return WISP_STAGE_NET;
}

/* Whether --nodes names name (every node does without it). */
static int listed(const char *name)
{
	const char *list = M.opt.nodes;
	if (list == NULL)
		return 1;
	size_t len = strlen(name);
	for (const char *at = list; *at; at += strcspn(at, ",")) {
		at += *at == ',';
		if (strncmp(at, name, len) == 0 && (at[len] == ',' || at[len] == 0))
			return 1;
	}
	return 0;
}

/* The names of --nodes, counted; 0, or -1 when one is empty. */
static int count_listed(void)
{
	const char *list = M.opt.nodes;
	if (list == NULL)
		return 0;
	for (const char *at = list;; at++) {
		size_t len = strcspn(at, ",");
		if (len == 0)
			return -1;
		M.listed++;
		at += len;
		if (*at == '\0')
			return 0;
	}
}

/* Adds a node, given the config as it reads it. */
static int add_node(const char *name, const struct wisp_config *cfg,
	void *ud)
{
	(void)ud;
	M.in_config++;
	if (!listed(name))
		return 0; /* checked all the same, as the others */
	M.found++;
	M.nodes = wisp_realloc(M.nodes, (M.count + 1) * sizeof(*M.nodes));
	struct wisp_master_node *n = &M.nodes[M.count++];
	memset(n, 0, sizeof(*n));
	n->name = wisp_strdup(name);
	n->id = cfg->node_id;
	n->stage = stage_of(cfg->roles);
	n->watchdog_ms = cfg->watchdog_ms;
	/* eight looks per watchdog period: one stuck is killed within an
	 * eighth of it past its time */
	long long look = cfg->watchdog_ms / 8;
	look = look < LOOK_MIN_MS ? LOOK_MIN_MS : look;
	if (cfg->watchdog_ms && look < M.look_ms)
		M.look_ms = look;
	if (asprintf(&n->log, "%s/%s.log", M.opt.run_dir, name) < 0
		|| asprintf(&n->out, "%s/%s.out", M.opt.run_dir, name) < 0)
		abort();
	M.stop_wait_ms = cfg->stop_timeout_ms + STOP_GRACE_MS;
	return 0;
}

/* Roots first, then db nodes, then game and net nodes; by id within. */
static int start_order(const void *a, const void *b)
{
	const struct wisp_master_node *x = a, *y = b;
	if (x->stage != y->stage)
		return (int)y->stage - (int)x->stage;
	return x->id < y->id ? -1 : x->id > y->id;
}

/* Reads the config as each node would, with the loader the nodes use: it
 * says what is wrong, if anything, and every node is checked before any
 * starts. The file runs once, however many nodes it has. */
static int read_cluster(char *err, size_t errsz)
{
	if (count_listed() < 0) {
		snprintf(err, errsz, "--nodes %s: an empty name", M.opt.nodes);
		return -1;
	}
	int rc = wisp_config_load_each(M.config, add_node, NULL, err, errsz);
	if (rc == 0 && M.opt.nodes && M.found != M.listed) {
		snprintf(err, errsz, "--nodes %s: %zu of these are not nodes of %s "
			"(or are named twice)", M.opt.nodes, M.listed - M.found,
			M.config);
		return -1;
	}
	if (M.count)
		qsort(M.nodes, M.count, sizeof(*M.nodes), start_order);
	return rc;
}

static int open_signals(void)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGCHLD);
	signal(SIGPIPE, SIG_IGN); /* stdout may be a pipe that goes away */
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return -1;
	M.signal_fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	return M.signal_fd < 0 ? -1 : 0;
}

static void begin_stop(int sig)
{
	if (M.stopping)
		return; /* a second ^C changes nothing: the stop is under way */
	M.stopping = 1;
	M.stage = WISP_STAGE_NET;
	wisp_master_log(WISP_LOG_INFO, "stopping on signal %d (SIG%s): net nodes, "
		"then game, db, root", sig, sigabbrev_np(sig));
	for (size_t i = 0; i < M.count; i++)
		M.nodes[i].restart_ms = 0;
}

/* SIGHUP goes on to every node: their loggers reopen their files. */
static void read_signals(void)
{
	struct signalfd_siginfo si;
	while (read(M.signal_fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGHUP) {
			for (size_t i = 0; i < M.count; i++)
				if (M.nodes[i].pid)
					kill(M.nodes[i].pid, SIGHUP);
		} else if (si.ssi_signo != SIGCHLD) {
			begin_stop((int)si.ssi_signo);
		}
	}
}

/* Every child that exited, whether its SIGCHLD came alone or merged. */
static void reap(void)
{
	int status;
	pid_t pid;
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
		for (size_t i = 0; i < M.count; i++)
			if (M.nodes[i].pid == pid)
				wisp_master_node_exited(&M.nodes[i], status, M.stopping);
}

static int running_in_stage(void)
{
	int running = 0;
	for (size_t i = 0; i < M.count; i++)
		running += M.nodes[i].stage == (enum wisp_master_stage)M.stage
			&& M.nodes[i].pid != 0;
	return running;
}

/* Sends sig (SIGTERM, or SIGKILL past the deadline) to the stage's
 * running nodes. */
static void signal_stage(int sig)
{
	for (size_t i = 0; i < M.count; i++) {
		struct wisp_master_node *n = &M.nodes[i];
		if (n->stage != (enum wisp_master_stage)M.stage || n->pid == 0)
			continue;
		if (sig == SIGKILL)
			wisp_master_log(WISP_LOG_WARN, "node %s did not stop within "
				"%u ms; killing it", n->name, M.stop_wait_ms);
		kill(n->pid, sig);
		n->asked = 1;
	}
}

/* Moves the stop on: asks a stage's nodes to exit, kills those still there
 * at its deadline, and goes to the next stage once all of them are gone.
 * 1 once every stage is done. */
static int advance_stop(long long now)
{
	for (; M.stage < WISP_STAGE_COUNT; M.stage++, M.deadline = 0,
			M.killed = 0) {
		if (running_in_stage() == 0)
			continue;
		if (M.deadline == 0) {
			wisp_master_log(WISP_LOG_INFO, "stopping the %s nodes",
				stage_names[M.stage]);
			signal_stage(SIGTERM);
			M.deadline = now + M.stop_wait_ms;
		}
		if (now >= M.deadline && !M.killed) {
			signal_stage(SIGKILL);
			M.killed = 1;
		}
		return 0;
	}
	return 1;
}

/* Once a second: logs past their size are rotated. */
static void tick(void)
{
	for (size_t i = 0; i < M.count; i++)
		wisp_master_node_rotate(&M.nodes[i], M.opt.log_max);
}

static void start_due(long long now)
{
	for (size_t i = 0; i < M.count; i++) {
		struct wisp_master_node *n = &M.nodes[i];
		if (n->restart_ms && now >= n->restart_ms)
			wisp_master_node_start(n, M.config);
	}
}

/* Until the next tick or look, restart or stop deadline. */
static int poll_timeout(long long now, long long next)
{
	for (size_t i = 0; !M.stopping && i < M.count; i++)
		if (M.nodes[i].restart_ms && M.nodes[i].restart_ms < next)
			next = M.nodes[i].restart_ms;
	if (M.stopping && !M.killed && M.deadline && M.deadline < next)
		next = M.deadline;
	return next > now ? (int)(next - now) : 0;
}

static void look(long long now)
{
	for (size_t i = 0; !M.stopping && i < M.count; i++)
		wisp_master_node_watch(&M.nodes[i], now);
}

static void run_loop(void)
{
	long long now = wisp_master_now(), next_tick = now + TICK_MS;
	long long next_look = now + M.look_ms;
	for (;;) {
		struct pollfd p = { M.signal_fd, POLLIN, 0 };
		long long next = next_look < next_tick ? next_look : next_tick;
		if (poll(&p, 1, poll_timeout(now, next)) < 0 && errno != EINTR)
			wisp_master_log(WISP_LOG_ERROR, "poll: %s", strerror(errno));
		read_signals();
		reap();
		now = wisp_master_now();
		if (M.stopping ? advance_stop(now) : (start_due(now), 0))
			return;
		if (now >= next_look) {
			look(now);
			next_look = now + M.look_ms;
		}
		if (now >= next_tick) {
			tick();
			next_tick = now + TICK_MS;
		}
	}
}

/* 0 if every node's last exit was a clean exit 0. */
static int exit_code(void)
{
	int code = 0;
	for (size_t i = 0; i < M.count; i++)
		code |= M.nodes[i].failed;
	wisp_master_log(code ? WISP_LOG_WARN : WISP_LOG_INFO, "every node "
		"stopped; exit %d", code);
	return code;
}

static void release(void)
{
	for (size_t i = 0; i < M.count; i++)
		wisp_master_node_release(&M.nodes[i]);
	wisp_free(M.nodes);
	if (M.signal_fd >= 0)
		close(M.signal_fd);
}

/* Everything the master needs before it starts a node; one line on
 * stderr when something is missing. */
static int prepare(void)
{
	char err[1024];
	if (read_cluster(err, sizeof(err)) < 0) {
		fprintf(stderr, "wisp: config error: %s\n", err);
		return -1;
	}
	if (mkdir(M.opt.run_dir, 0755) < 0 && errno != EEXIST) {
		fprintf(stderr, "wisp: cannot make the run directory %s: %s\n",
			M.opt.run_dir, strerror(errno));
		return -1;
	}
	if (open_signals() < 0) {
		perror("wisp: cannot set up the signals");
		return -1;
	}
	return 0;
}

/* The master holds a file for each node (its watch page): a thousand
 * nodes would pass the usual soft limit of 1,024, which the nodes also
 * inherit. */
static void raise_fd_limit(void)
{
	uint64_t need = M.count + SPARE_FDS, was, now;
	if (wisp_fd_limit_raise(need, &was, &now) < 0)
		wisp_master_log(WISP_LOG_ERROR, "open-file limit: the hard limit is "
			"below the %llu that %zu nodes need, so the soft limit stays at "
			"%llu; raise the hard limit (ulimit -Hn, LimitNOFILE= for "
			"systemd)", (unsigned long long)need, M.count,
			(unsigned long long)now);
	else if (now > was)
		wisp_master_log(WISP_LOG_INFO, "open-file limit raised from %llu to "
			"%llu for %zu nodes", (unsigned long long)was,
			(unsigned long long)now, M.count);
}

int wisp_master_run(const char *config, const struct wisp_master_options *opt)
{
	M.config = config;
	M.opt = *opt;
	M.signal_fd = -1;
	M.look_ms = TICK_MS;
	int code = 1;
	if (prepare() == 0) {
		wisp_master_log(WISP_LOG_INFO, "master of %s: %zu nodes%s, logs in "
			"%s", config, M.count, M.count < M.in_config ? " (--nodes)" : "",
			opt->run_dir);
		raise_fd_limit();
		for (size_t i = 0; i < M.count; i++)
			wisp_master_node_start(&M.nodes[i], config);
		run_loop();
		code = exit_code();
	}
	release();
	return code;
}
