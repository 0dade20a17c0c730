/* proc.h: what integration tests need to drive real wisp processes:
 * spawn one with its output in files, wait for it with a deadline, and
 * talk TCP to it on loopback. */
#ifndef WISP_PROC_H
#define WISP_PROC_H

#include <stddef.h>
#include <sys/types.h>

struct proc {
	pid_t pid;
	int running;   /* started and not yet waited for */
	const char *label; /* its name in failure reports (set by the caller) */
	char out[128]; /* file holding its stdout */
	char err[128]; /* file holding its stderr */
};

/* Starts argv[0] with argv; extra environment "K=V" entries in env
 * (NULL-terminated, may be NULL). Returns 0 or -1. */
int proc_start(struct proc *p, char *const argv[], char *const env[]);
/* Waits up to ms for the exit; returns the exit code, 128+signal if it
 * was killed, or -1 on timeout (the process is then killed). */
int proc_wait(struct proc *p, int ms);
/* Guards the count processes of procs: on a signal or after seconds
 * (alarm; 0 for no deadline), or at proc_kill_all, every one still running is killed, so a
 * failing test leaves no node behind. */
void proc_guard(struct proc *procs, int count, unsigned seconds);
void proc_kill_all(void);
/* Sends SIGTERM, then waits as proc_wait. */
int proc_stop(struct proc *p, int ms);
/* proc_stop, expecting a clean stop: 0 when it exited 0 with nothing on
 * stderr (no error, no sanitizer report); -1, saying which, otherwise. */
int proc_stop_clean(struct proc *p, int ms);
/* Runs a command (label names it) to its end, within ms: the first line
 * of its stdout into out; 0 if it exited 0, or -1, its output shown. */
int proc_run_line(const char *label, char *const argv[], int ms, char *out,
	size_t size);
/* Writes its stdout and stderr to our stderr, under its label. */
void proc_dump(const struct proc *p);
/* The whole content of its stdout or stderr, malloc'd. */
char *proc_output(const struct proc *p, int which_err);
int proc_count_lines(const char *text);
/* Where text first is in its stdout, or -1. */
long proc_output_at(const struct proc *p, const char *text);
/* The whole content of a file, malloc'd; "" when it cannot be read. */
char *proc_read_file(const char *path);
/* Removes dir and everything below it (a test's temporary directory). */
void proc_remove_tree(const char *dir);
void proc_cleanup(struct proc *p);
/* The end of a test of count processes: kills those still running, dumps
 * every one's output when dump is set (a check failed), and removes their
 * output files. */
void proc_finish(struct proc *procs, int count, int dump);

/* Waits up to ms for p's stdout to contain text: 1, or 0 if it did not. */
int proc_wait_output(const struct proc *p, const char *text, int ms);
/* Prints the BENCH lines of p's stdout without their log prefix; returns
 * how many there were. */
int proc_print_bench(const struct proc *p);

/* A process's resident memory in KiB, from /proc/PID/status; -1 if not
 * found. */
long proc_rss_kb(pid_t pid);

/* wisp-load's "summary: N frames/s, ..., errors E, failed connections F"
 * line in out: the rate, or -1 (said on stderr, under who) when it is
 * missing or shows an error or a failed connection. */
double proc_load_rate(const char *out, const char *who);
/* Runs wisp-load (args, NULL-terminated, args[0] its path) in p for up to
 * a minute, its output on stderr: its rate as proc_load_rate reads it, or
 * -1. */
double proc_run_load(struct proc *p, char **args, const char *who);
/* Raises the soft open-file limit to the hard one: 0, or -1 (said on
 * stderr, under who) when even that is below need. */
int proc_raise_fd_limit(long need, const char *who);

/* A TCP port on 127.0.0.1 that was free a moment ago. */
int free_port(void);
/* The first of count consecutive free ports, below the usual ephemeral
 * range (so that the nodes' own outgoing connections do not take them);
 * -1 if none was found. */
int free_port_run(int count);
/* Connects to 127.0.0.1:port, retrying up to ms while nothing listens. */
int tcp_connect(int port, int ms);
/* Reads exactly n bytes within ms; 0 or -1. */
int tcp_read_exact(int fd, void *buf, size_t n, int ms);
int tcp_write_all(int fd, const void *buf, size_t n);

/* The driver's side of testing.ask_driver: makes the directory the nodes
 * watch (/tmp/wisp_TEST_PID, its path in dir), creates file in it to let
 * a waiting node go on, and removes both at the end. 0 or -1. */
int proc_gate_make(char *dir, size_t size, const char *test);
int proc_gate_open(const char *dir, const char *file);
void proc_gate_remove(const char *dir, const char *file);

/* Monotonic milliseconds, for deadlines; and a sleep of ms. */
long long proc_now_ms(void);
void proc_sleep_ms(int ms);

/* ---- a process's log: its stdout, read again at each call ---- */

/* How many lines hold both a and b ("" matches every line). */
int proc_log_lines(const struct proc *p, const char *a, const char *b);
/* 1 when a line holds both a and b. */
int proc_log_has(const struct proc *p, const char *a, const char *b);
/* Waits up to ms for such a line: 1, or 0 if none came. */
int proc_wait_log(const struct proc *p, const char *a, const char *b, int ms);
/* How many times text (not empty) is in it. */
int proc_log_count(const struct proc *p, const char *text);
/* Waits up to ms for text to be in it n times at least: 1, or 0. */
int proc_wait_log_count(const struct proc *p, const char *text, int n,
	int ms);

/* The local port of a TCP socket, or -1. */
int tcp_local_port(int fd);

/* ---- a master (`wisp --run-dir DIR CONFIG`) and its nodes ---- */

/* The pid of the last start of node the master logged, or -1. */
pid_t proc_started_pid(const struct proc *master, const char *node);
/* A node's file DIR/NODE.EXT (ext "log" or "out"), malloc'd; "" when it
 * cannot be read. */
char *proc_node_file(const char *run_dir, const char *node, const char *ext);
/* 1 when the node wrote nothing to DIR/NODE.out (no sanitizer report, no
 * failed start); else 0, after printing what it wrote. */
int proc_node_quiet(const char *run_dir, const char *node);

#endif
