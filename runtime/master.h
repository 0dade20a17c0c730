/* master.h: the master, `wisp CONFIG` with no node name. It starts every
 * node of the config as a child process, starts again the ones that die
 * or get stuck, rotates their logs and stops them in a safe order.
 * master.c holds the cluster and the loop; master_node.c the life of one
 * child. */
#ifndef WISP_MASTER_H
#define WISP_MASTER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct wisp_master_options {
	const char *run_dir; /* the nodes' logs and outputs; created if missing */
	size_t log_max;      /* bytes: a node's log past this is rotated */
	const char *nodes;   /* "NAME,NAME": only those start; NULL: all */
};

/* Runs until SIGTERM or SIGINT has stopped every node. Returns 0 if each
 * of them exited 0, else 1 (also when the config is wrong or the run
 * directory cannot be made, with one line on stderr saying so). */
int wisp_master_run(const char *config, const struct wisp_master_options *opt);

/* The groups nodes stop in, one after the other; they start the other
 * way round. A node with several roles goes with the last of them. */
enum wisp_master_stage {
	WISP_STAGE_NET,  /* clients stop being accepted first */
	WISP_STAGE_GAME, /* then the game logic */
	WISP_STAGE_DB,   /* then the db nodes, which commit what is open */
	WISP_STAGE_ROOT, /* the directory goes last */
	WISP_STAGE_COUNT
};

/* One node as the master looks after it. */
struct wisp_master_node {
	char *name;
	uint32_t id;
	enum wisp_master_stage stage;
	pid_t pid;            /* 0 while it is not running */
	long long started_ms; /* its last start (wisp_master_now) */
	long long restart_ms; /* when to start it again; 0: not waiting */
	uint32_t backoff_ms;  /* the wait before its next restart */
	int asked;            /* the master sent it SIGTERM */
	int failed;           /* its last exit was not a clean exit 0 */
	char *log;            /* DIR/NODE.log, given to it with --log */
	char *out;            /* DIR/NODE.out: its stdout and stderr */
	long long out_from;   /* NODE.out's size when it last started */
	uint32_t watchdog_ms; /* stuck this long, it is killed; 0: unwatched */
	struct wisp_watch *watch; /* the page it writes its progress to */
	int watch_fd;         /* that page, handed to it with --watch */
	uint64_t seen;        /* its progress at the last look */
	long long looked_ms;  /* when the master last looked */
	long long moved_ms;   /* when it was last seen to move or idle */
	long long aborted_ms; /* when it got SIGABRT for being stuck; 0: not */
	int abort_killed;     /* it outlived that SIGABRT and got SIGKILL */
};

/* master_node.c: starting a node (fork and exec of this executable as
 * `wisp --log LOG [--watch FD] CONFIG NODE`), what to do when it exits,
 * watching it, and rotating its log once it is larger than max bytes. */
int wisp_master_node_start(struct wisp_master_node *n, const char *config);
/* status from waitpid; stopping: the master asked it to exit. */
void wisp_master_node_exited(struct wisp_master_node *n, int status,
	int stopping);
void wisp_master_node_rotate(struct wisp_master_node *n, size_t max);
/* Looks at a running node's watch page: one that makes no progress for
 * watchdog_ms while not idle gets SIGABRT (a core can be kept), and dies
 * into the restart path. */
void wisp_master_node_watch(struct wisp_master_node *n, long long now);
/* Frees what it holds (names, its watch page), at the master's end. */
void wisp_master_node_release(struct wisp_master_node *n);

/* master_out.c: the size of a file (0 if it cannot be read), and the last
 * lines n wrote to NODE.out since its start, as the master's warnings. */
long long wisp_master_out_size(const char *path);
void wisp_master_out_tell(const struct wisp_master_node *n);

/* master.c: milliseconds on the monotonic clock, and the master's own
 * log lines on stdout, in the nodes' format ("... INFO  master ..."). */
long long wisp_master_now(void);
void wisp_master_log(int level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
