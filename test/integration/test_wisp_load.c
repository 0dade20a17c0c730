/* test_wisp_load.c: runs wisp-load against an echo server in a child
 * process (it writes back every byte it reads, so each frame returns whole
 * with its command): flat out and at a set rate, checking the exit code
 * and the summary line; then bad options, a server that is not there, and
 * more connections than the open file limit allows. */
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include "proc.h"
#include "testlib.h"

#define MAX_CLIENTS 64

static const char *wisp_load;
static int echo_port;

static int listen_loopback(int *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof a;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, len) < 0
		|| listen(fd, 128) < 0
		|| getsockname(fd, (struct sockaddr *)&a, &len) < 0)
		return -1;
	*port = ntohs(a.sin_port);
	return fd;
}

/* Echoes what fds[i] sent; closes it when the client has gone. */
static void echo(struct pollfd *fds, int i)
{
	char buf[65536];
	ssize_t n = read(fds[i].fd, buf, sizeof buf);
	if (n <= 0 || tcp_write_all(fds[i].fd, buf, (size_t)n) < 0) {
		close(fds[i].fd);
		fds[i].fd = -1;
	}
}

/* The child: fds[0] listens, the rest are clients, until it is killed. */
static void serve(int listener)
{
	struct pollfd fds[MAX_CLIENTS + 1];
	for (int i = 0; i <= MAX_CLIENTS; i++)
		fds[i] = (struct pollfd){ -1, POLLIN, 0 };
	fds[0].fd = listener;
	for (;;) {
		if (poll(fds, MAX_CLIENTS + 1, -1) < 0)
			_exit(1);
		for (int i = 1; i <= MAX_CLIENTS; i++)
			if (fds[i].fd >= 0 && fds[i].revents)
				echo(fds, i);
		if (!(fds[0].revents & POLLIN))
			continue;
		int fd = accept(listener, NULL, NULL);
		for (int i = 1; fd >= 0 && i <= MAX_CLIENTS; i++)
			if (fds[i].fd < 0) {
				fds[i].fd = fd;
				fd = -1;
			}
		if (fd >= 0)
			close(fd); /* full: the test asks for fewer */
	}
}

static pid_t start_echo(int *port)
{
	int fd = listen_loopback(port);
	if (fd < 0)
		return -1;
	pid_t pid = fork();
	if (pid == 0)
		serve(fd);
	close(fd);
	return pid;
}

/* Runs wisp-load with args (NULL-terminated); its exit code, and its
 * stdout and stderr in out and err (malloc'd). */
static int run_load(char **args, char **out, char **err)
{
	char *argv[32] = { (char *)wisp_load };
	for (int i = 0; args[i] != NULL && i < 30; i++)
		argv[i + 1] = args[i];
	struct proc p;
	if (proc_start(&p, argv, NULL) < 0)
		return -1;
	int code = proc_wait(&p, 30000);
	*out = proc_output(&p, 0);
	*err = proc_output(&p, 1);
	proc_cleanup(&p);
	return code;
}

/* The frames/s of the summary line, and whether it reports no errors and
 * no failed connections; -1 without a summary line. */
static double summary_rate(const char *out, int connections, int *clean)
{
	const char *line = strstr(out, "summary: ");
	double rate;
	char want[96];
	if (line == NULL || sscanf(line, "summary: %lf frames/s", &rate) != 1)
		return -1;
	snprintf(want, sizeof want, ", errors 0, failed connections 0 of %d,",
		connections);
	const char *eol = strchr(line, '\n');
	const char *found = strstr(line, want);
	*clean = found != NULL && (eol == NULL || found < eol);
	return rate;
}

static void flat_out(void)
{
	char addr[32], *out, *err;
	snprintf(addr, sizeof addr, "127.0.0.1:%d", echo_port);
	char *args[] = { "--connections", "50", "--duration", "1", "--mix",
		"101:64,102:16", "--magic", "WISP", "--proto", "1", "--server", "1",
		addr, NULL };
	CHECK_INT(run_load(args, &out, &err), 0);
	int clean = 0;
	double rate = summary_rate(out, 50, &clean);
	CHECK(rate > 0);
	CHECK(clean);
	if (rate <= 0 || !clean)
		fprintf(stderr, "stdout:\n%sstderr:\n%s", out, err);
	free(out);
	free(err);
}

/* 2000 frames/s for 1.5 s: the rate holds, and a progress line comes. */
static void at_rate(void)
{
	char addr[32], *out, *err;
	snprintf(addr, sizeof addr, "127.0.0.1:%d", echo_port);
	char *args[] = { "--connections", "10", "--rate", "2000", "--duration",
		"1.5", addr, NULL };
	CHECK_INT(run_load(args, &out, &err), 0);
	int clean = 0;
	double rate = summary_rate(out, 10, &clean);
	CHECK(rate > 1700 && rate < 2300);
	CHECK(clean);
	CHECK(strstr(out, "   1.0 s  sent ") != NULL);
	if (rate <= 1700 || rate >= 2300 || !clean)
		fprintf(stderr, "stdout:\n%sstderr:\n%s", out, err);
	free(out);
	free(err);
}

/* Exits non-zero with one line on stderr that contains name. */
static void refused_with(char **args, const char *name)
{
	char *out, *err;
	int code = run_load(args, &out, &err);
	CHECK(code > 0 && code < 128);
	CHECK_INT(proc_count_lines(err), 1);
	CHECK(strstr(err, name) != NULL);
	CHECK_STR(out, "");
	if (strstr(err, name) == NULL)
		fprintf(stderr, "stderr: %s", err);
	free(out);
	free(err);
}

static void bad_options(void)
{
	char *rate[] = { "--rate", "fast", "127.0.0.1:9", NULL };
	refused_with(rate, "--rate");
	char *unknown[] = { "--bogus", "1", "127.0.0.1:9", NULL };
	refused_with(unknown, "--bogus");
	char *mix[] = { "--mix=101:64,oops", "127.0.0.1:9", NULL };
	refused_with(mix, "--mix");
	char *magic[] = { "--magic", "TOOLONG", "127.0.0.1:9", NULL };
	refused_with(magic, "--magic");
	char *missing[] = { "127.0.0.1:9", "--duration", NULL };
	refused_with(missing, "--duration");
	char *address[] = { "localhost:9", NULL };
	refused_with(address, "localhost:9");
}

static void nobody_there(void)
{
	int port, fd = listen_loopback(&port);
	close(fd);
	char addr[32], *out, *err;
	snprintf(addr, sizeof addr, "127.0.0.1:%d", port);
	char *args[] = { "--connections", "3", "--duration", "1", addr, NULL };
	CHECK_INT(run_load(args, &out, &err), 1);
	CHECK(strstr(err, "Connection refused") != NULL);
	CHECK(strstr(err, "every connection failed") != NULL);
	free(out);
	free(err);
}

/* Only where the hard limit is below what a million connections need. */
static void too_many_connections(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_max == RLIM_INFINITY
		|| rl.rlim_max > 1000000)
		return;
	char *args[] = { "--connections", "1000000", "127.0.0.1:9", NULL };
	refused_with(args, "hard limit");
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: test_wisp_load WISP_LOAD\n");
		return 2;
	}
	wisp_load = argv[1];
	pid_t echo_pid = start_echo(&echo_port);
	CHECK(echo_pid > 0);
	RUN(flat_out);
	RUN(at_rate);
	kill(echo_pid, SIGKILL);
	waitpid(echo_pid, NULL, 0);
	RUN(bad_options);
	RUN(nobody_there);
	RUN(too_many_connections);
	return TEST_END();
}
