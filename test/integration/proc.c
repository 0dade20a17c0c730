/* proc.c: process and loopback helpers for the integration tests. */
#include <errno.h>
#include <ftw.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "proc.h"

extern char **environ;

long long proc_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static void redirect(const char *file, int fd)
{
	int f = open(file, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (f >= 0) {
		dup2(f, fd);
		close(f);
	}
}

int proc_start(struct proc *p, char *const argv[], char *const env[])
{
	static int serial;
	snprintf(p->out, sizeof(p->out), "/tmp/wisp_proc_%d_%d.out",
		(int)getpid(), serial);
	snprintf(p->err, sizeof(p->err), "/tmp/wisp_proc_%d_%d.err",
		(int)getpid(), serial++);
	p->pid = fork();
	if (p->pid < 0)
		return -1;
	if (p->pid == 0) {
		redirect(p->out, 1);
		redirect(p->err, 2);
		for (int i = 0; env && env[i]; i++)
			putenv(env[i]);
		execv(argv[0], argv);
		_exit(127);
	}
	p->running = 1;
	return 0;
}

int proc_wait(struct proc *p, int ms)
{
	long long deadline = proc_now_ms() + ms;
	int status;
	for (;;) {
		pid_t r = waitpid(p->pid, &status, WNOHANG);
		if (r == p->pid)
			break;
		if (proc_now_ms() > deadline) {
			kill(p->pid, SIGKILL);
			waitpid(p->pid, &status, 0);
			p->running = 0;
			return -1;
		}
		usleep(5000);
	}
	p->running = 0;
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

int proc_stop(struct proc *p, int ms)
{
	kill(p->pid, SIGTERM);
	return proc_wait(p, ms);
}

int proc_stop_clean(struct proc *p, int ms)
{
	int code = proc_stop(p, ms);
	char *err = proc_output(p, 1);
	int clean = code == 0 && err[0] == '\0';
	if (code != 0)
		fprintf(stderr, "%s: exit %d at SIGTERM, not 0\n",
			p->label ? p->label : "process", code);
	if (err[0])
		fprintf(stderr, "%s wrote on stderr:\n%s\n",
			p->label ? p->label : "process", err);
	free(err);
	return clean ? 0 : -1;
}

static struct proc *guarded;
static int guarded_count;

void proc_kill_all(void)
{
	for (int i = 0; i < guarded_count; i++)
		if (guarded[i].running) {
			kill(guarded[i].pid, SIGKILL);
			waitpid(guarded[i].pid, NULL, 0);
			guarded[i].running = 0;
		}
}

static void on_fatal_signal(int sig)
{
	proc_kill_all();
	signal(sig, SIG_DFL);
	raise(sig);
}

void proc_guard(struct proc *procs, int count, unsigned seconds)
{
	guarded = procs;
	guarded_count = count;
	signal(SIGALRM, on_fatal_signal);
	signal(SIGTERM, on_fatal_signal);
	signal(SIGINT, on_fatal_signal);
	alarm(seconds);
}

char *proc_output(const struct proc *p, int which_err)
{
	return proc_read_file(which_err ? p->err : p->out);
}

long proc_output_at(const struct proc *p, const char *text)
{
	char *out = proc_output(p, 0);
	char *at = strstr(out, text);
	long pos = at ? at - out : -1;
	free(out);
	return pos;
}

char *proc_read_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return strdup("");
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *text = calloc(1, (size_t)n + 1);
	if (fread(text, 1, (size_t)n, f) != (size_t)n)
		text[0] = '\0';
	fclose(f);
	return text;
}

int proc_wait_output(const struct proc *p, const char *text, int ms)
{
	for (int waited = 0; waited <= ms; waited += 20) {
		char *out = proc_output(p, 0);
		int found = strstr(out, text) != NULL;
		free(out);
		if (found)
			return 1;
		usleep(20000);
	}
	return 0;
}

int proc_print_bench(const struct proc *p)
{
	char *out = proc_output(p, 0);
	int found = 0;
	for (char *line = strtok(out, "\n"); line; line = strtok(NULL, "\n")) {
		char *bench = strstr(line, "BENCH ");
		if (bench) {
			puts(bench);
			found++;
		}
	}
	free(out);
	return found;
}

void proc_dump(const struct proc *p)
{
	const char *name = p->label ? p->label : "?";
	char *out = proc_output(p, 0), *err = proc_output(p, 1);
	fprintf(stderr, "==== %s (pid %d) stdout:\n%s==== %s stderr:\n%s\n", name,
		(int)p->pid, out, name, err);
	free(out);
	free(err);
}

int proc_count_lines(const char *text)
{
	int n = 0;
	for (; *text; text++)
		n += *text == '\n';
	return n;
}

void proc_cleanup(struct proc *p)
{
	unlink(p->out);
	unlink(p->err);
}

void proc_finish(struct proc *procs, int count, int dump)
{
	proc_kill_all();
	for (int i = 0; dump && i < count; i++)
		proc_dump(&procs[i]);
	for (int i = 0; i < count; i++)
		proc_cleanup(&procs[i]);
}

static struct sockaddr_in loopback(int port)
{
	struct sockaddr_in a;
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return a;
}

int free_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = loopback(0);
	socklen_t len = sizeof(a);
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0
		|| getsockname(fd, (struct sockaddr *)&a, &len) < 0) {
		close(fd);
		return -1;
	}
	close(fd);
	return ntohs(a.sin_port);
}

static int port_is_free(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = loopback(port);
	int ok = bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
	close(fd);
	return ok;
}

int free_port_run(int count)
{
	srand((unsigned)getpid() ^ (unsigned)time(NULL));
	for (int tries = 0; tries < 200; tries++) {
		int base = 20000 + rand() % 12000, ok = 1;
		for (int i = 0; ok && i < count; i++)
			ok = port_is_free(base + i);
		if (ok)
			return base;
	}
	return -1;
}

int tcp_connect(int port, int ms)
{
	long long deadline = proc_now_ms() + ms;
	struct sockaddr_in a = loopback(port);
	for (;;) {
		int fd = socket(AF_INET, SOCK_STREAM, 0);
		if (connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0) {
			int one = 1;
			setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
			return fd;
		}
		close(fd);
		if (proc_now_ms() > deadline)
			return -1;
		usleep(10000);
	}
}

int tcp_read_exact(int fd, void *buf, size_t n, int ms)
{
	long long deadline = proc_now_ms() + ms;
	size_t got = 0;
	while (got < n) {
		struct pollfd pfd = { fd, POLLIN, 0 };
		int left = (int)(deadline - proc_now_ms());
		if (left <= 0 || poll(&pfd, 1, left) <= 0)
			return -1;
		ssize_t r = read(fd, (char *)buf + got, n - got);
		if (r <= 0)
			return -1;
		got += (size_t)r;
	}
	return 0;
}

int tcp_write_all(int fd, const void *buf, size_t n)
{
	size_t done = 0;
	while (done < n) {
		ssize_t w = send(fd, (const char *)buf + done, n - done, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		done += (size_t)w;
	}
	return 0;
}

/* The driver's side of testing.ask_driver (test/lua/testing.lua): a node
 * logs a marker and waits for a file in this directory. */
int proc_gate_make(char *dir, size_t size, const char *test)
{
	snprintf(dir, size, "/tmp/wisp_%s_%d", test, (int)getpid());
	return mkdir(dir, 0700) == 0 || errno == EEXIST ? 0 : -1;
}

int proc_gate_open(const char *dir, const char *file)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		return -1;
	close(fd);
	return 0;
}

void proc_gate_remove(const char *dir, const char *file)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	unlink(path);
	rmdir(dir);
}

static int remove_entry(const char *path, const struct stat *st, int flag,
	struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(path);
}

void proc_remove_tree(const char *dir)
{
	nftw(dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
}

long proc_rss_kb(pid_t pid)
{
	char path[64], line[256];
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "r");
	long kb = -1;
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
			break;
	if (f)
		fclose(f);
	return kb;
}

void proc_sleep_ms(int ms)
{
	usleep((useconds_t)ms * 1000);
}

int proc_log_lines(const struct proc *p, const char *a, const char *b)
{
	char *out = proc_output(p, 0), *save = NULL;
	int n = 0;
	for (char *line = strtok_r(out, "\n", &save); line;
		line = strtok_r(NULL, "\n", &save))
		n += strstr(line, a) && strstr(line, b);
	free(out);
	return n;
}

int proc_log_has(const struct proc *p, const char *a, const char *b)
{
	return proc_log_lines(p, a, b) > 0;
}

int proc_wait_log(const struct proc *p, const char *a, const char *b, int ms)
{
	long long deadline = proc_now_ms() + ms;
	while (!proc_log_has(p, a, b)) {
		if (proc_now_ms() > deadline)
			return 0;
		proc_sleep_ms(20);
	}
	return 1;
}

int proc_log_count(const struct proc *p, const char *text)
{
	char *out = proc_output(p, 0);
	int n = 0;
	for (const char *at = out; (at = strstr(at, text)) != NULL; at++)
		n++;
	free(out);
	return n;
}

int proc_wait_log_count(const struct proc *p, const char *text, int n,
	int ms)
{
	long long deadline = proc_now_ms() + ms;
	while (proc_log_count(p, text) < n) {
		if (proc_now_ms() > deadline)
			return 0;
		proc_sleep_ms(20);
	}
	return 1;
}

int tcp_local_port(int fd)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);
	if (getsockname(fd, (struct sockaddr *)&a, &len) < 0)
		return -1;
	return ntohs(a.sin_port);
}

pid_t proc_started_pid(const struct proc *master, const char *node)
{
	char *out = proc_output(master, 0), key[64];
	snprintf(key, sizeof(key), "node %s started (pid ", node);
	pid_t pid = -1;
	for (char *at = strstr(out, key); at; at = strstr(at + 1, key))
		pid = (pid_t)atoi(at + strlen(key));
	free(out);
	return pid;
}

char *proc_node_file(const char *run_dir, const char *node, const char *ext)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/%s.%s", run_dir, node, ext);
	return proc_read_file(path);
}

int proc_node_quiet(const char *run_dir, const char *node)
{
	char *out = proc_node_file(run_dir, node, "out");
	int quiet = out[0] == '\0';
	if (!quiet)
		fprintf(stderr, "%s/%s.out wrote:\n%s\n", run_dir, node, out);
	free(out);
	return quiet;
}

double proc_load_rate(const char *out, const char *who)
{
	const char *at = strstr(out, "summary: ");
	double rate;
	unsigned long long errors;
	long failed;
	if (at == NULL || sscanf(at, "summary: %lf frames/s, p50 %*f ms, p99 %*f "
			"ms, errors %llu, failed connections %ld", &rate, &errors,
			&failed) != 3) {
		fprintf(stderr, "%s: no summary from wisp-load\n", who);
		return -1;
	}
	if (errors != 0 || failed != 0) {
		fprintf(stderr, "%s: wisp-load saw %llu errors and %ld failed "
			"connections\n", who, errors, failed);
		return -1;
	}
	return rate;
}

int proc_raise_fd_limit(long need, const char *who)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return -1;
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur < (rlim_t)need) {
		fprintf(stderr, "%s: the open-file limit (%llu) is below the %ld "
			"descriptors it needs\n", who, (unsigned long long)rl.rlim_cur,
			need);
		return -1;
	}
	return 0;
}

double proc_run_load(struct proc *p, char **args, const char *who)
{
	p->label = "wisp-load";
	if (proc_start(p, args, NULL) < 0)
		return -1;
	int code = proc_wait(p, 60000);
	char *out = proc_output(p, 0);
	fprintf(stderr, "%s", out);
	double rate = code == 0 ? proc_load_rate(out, who) : -1;
	if (code != 0)
		proc_dump(p);
	free(out);
	proc_cleanup(p);
	return rate;
}

int proc_run_line(const char *label, char *const argv[], int ms, char *out,
	size_t size)
{
	struct proc p = { .label = label };
	out[0] = '\0';
	if (proc_start(&p, argv, NULL) < 0)
		return -1;
	int code = proc_wait(&p, ms);
	char *text = proc_output(&p, 0);
	snprintf(out, size, "%s", text);
	out[strcspn(out, "\n")] = '\0';
	if (code != 0)
		proc_dump(&p);
	free(text);
	proc_cleanup(&p);
	return code == 0 ? 0 : -1;
}
