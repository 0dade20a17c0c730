/* test_wisp_load.c: runs wisp-load against an echo server in a child
 * process (it writes back every byte it reads, so each frame returns whole
 * with its command): flat out and at a set rate, checking the exit code
 * and the summary line; against a server that answers each two frames
 * swapped, which --request-ids matches by id and the default by order
 * cannot, and answers command 999 with error frames, each an error that
 * ends its request; then bad options, a server that is not there, and
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
#include "proto_alloc.h"
#include "wisp_client.h"

#define MAX_CLIENTS 64
/* The swapping server answers these with error frames naming them, the
 * first with the request id before (for --request-ids), the second not. */
#define FAILING_ID 998
#define FAILING 999

static const char *wisp_load;
static int echo_port, swap_port;

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

/* ---- the swapping server: frames, in pairs ---- */

static const struct wisp_client_proto proto = {
	{ 'W', 'I', 'S', 'P' }, 1, 1, 65536,
};

/* One client of the swapping server: its decoder, and the frame it holds
 * back until the next one has been answered. */
struct swapper {
	struct wisp_client_decoder dec;
	uint8_t *held;
	size_t held_len;
};

/* f's answer: itself, or an error frame naming its command. */
static uint8_t *answer_of(const struct wisp_client_frame *f, size_t *n)
{
	uint8_t body[64];
	size_t id = f->command == FAILING_ID ? 4 : 0;
	if (f->command != FAILING && f->command != FAILING_ID)
		return wisp_client_encode(&proto, f->command, f->body, f->size, n);
	memcpy(body, f->body, id);
	size_t len = id + wisp_client_error_encode(body + id, sizeof body - id,
		f->command, WISP_CLIENT_ERR_HANDLER, "handler error");
	return wisp_client_encode(&proto, UINT32_MAX, body, len, n);
}

/* Holds the first of each two frames; the second goes first. */
static int swap_frame(int fd, struct swapper *w,
	const struct wisp_client_frame *f)
{
	size_t n;
	uint8_t *frame = answer_of(f, &n);
	int rc = 0;
	if (w->held == NULL) {
		w->held = frame;
		w->held_len = n;
		return 0;
	}
	if (tcp_write_all(fd, frame, n) < 0
		|| tcp_write_all(fd, w->held, w->held_len) < 0)
		rc = -1;
	wisp_proto_free(frame);
	wisp_proto_free(w->held);
	w->held = NULL;
	return rc;
}

/* What fds[i] sent, answered; closed when the client has gone. */
static void swap_read(struct pollfd *fds, struct swapper *w, int i)
{
	uint8_t buf[65536];
	ssize_t n = read(fds[i].fd, buf, sizeof buf);
	const uint8_t *at = buf;
	size_t left = n > 0 ? (size_t)n : 0;
	struct wisp_client_frame f;
	int r;
	while (n > 0 && (r = wisp_client_next(&w[i].dec, &at, &left, &f)) == 1)
		if (swap_frame(fds[i].fd, &w[i], &f) < 0)
			n = -1;
	if (n <= 0) {
		close(fds[i].fd);
		fds[i].fd = -1;
	}
}

/* A frame held while no other came for a while goes alone. */
static void swap_flush(struct pollfd *fds, struct swapper *w)
{
	for (int i = 1; i <= MAX_CLIENTS; i++)
		if (fds[i].fd >= 0 && w[i].held) {
			tcp_write_all(fds[i].fd, w[i].held, w[i].held_len);
			wisp_proto_free(w[i].held);
			w[i].held = NULL;
		}
}

static void serve_swapped(int listener)
{
	static struct swapper w[MAX_CLIENTS + 1];
	struct pollfd fds[MAX_CLIENTS + 1];
	for (int i = 0; i <= MAX_CLIENTS; i++)
		fds[i] = (struct pollfd){ -1, POLLIN, 0 };
	fds[0].fd = listener;
	for (;;) {
		int ready = poll(fds, MAX_CLIENTS + 1, 20);
		if (ready == 0)
			swap_flush(fds, w);
		for (int i = 1; ready > 0 && i <= MAX_CLIENTS; i++)
			if (fds[i].fd >= 0 && fds[i].revents)
				swap_read(fds, w, i);
		if (ready <= 0 || !(fds[0].revents & POLLIN))
			continue;
		int fd = accept(listener, NULL, NULL);
		for (int i = 1; fd >= 0 && i <= MAX_CLIENTS; i++)
			if (fds[i].fd < 0) {
				fds[i].fd = fd;
				wisp_client_decoder_free(&w[i].dec);
				wisp_client_decoder_init(&w[i].dec, &proto);
				wisp_proto_free(w[i].held);
				w[i].held = NULL;
				fd = -1;
			}
		if (fd >= 0)
			close(fd);
	}
}

static pid_t start_server(int *port, void (*serve_fn)(int))
{
	int fd = listen_loopback(port);
	if (fd < 0)
		return -1;
	pid_t pid = fork();
	if (pid == 0)
		serve_fn(fd);
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

/* The errors of the summary line, or -1 without one. */
static long long summary_errors(const char *out)
{
	const char *line = strstr(out, "summary: ");
	const char *at = line ? strstr(line, ", errors ") : NULL;
	return at ? atoll(at + 9) : -1;
}

/* Replies out of order: --request-ids matches each by its id. */
static void swapped_by_id(void)
{
	char addr[32], *out, *err;
	snprintf(addr, sizeof addr, "127.0.0.1:%d", swap_port);
	char *args[] = { "--connections", "10", "--duration", "1",
		"--outstanding", "4", "--mix", "101:64,102:16", "--request-ids",
		addr, NULL };
	CHECK_INT(run_load(args, &out, &err), 0);
	int clean = 0;
	double rate = summary_rate(out, 10, &clean);
	CHECK(rate > 0);
	CHECK(clean);
	if (rate <= 0 || !clean)
		fprintf(stderr, "stdout:\n%sstderr:\n%s", out, err);
	free(out);
	free(err);
}

/* Without ids, replies are taken in order, so swapped ones are errors
 * (each the reply of the other command); they still end their requests. */
static void swapped_by_order(void)
{
	char addr[32], *out, *err;
	snprintf(addr, sizeof addr, "127.0.0.1:%d", swap_port);
	char *args[] = { "--connections", "2", "--duration", "0.5",
		"--outstanding", "2", "--mix", "101:64,102:16", addr, NULL };
	CHECK_INT(run_load(args, &out, &err), 0);
	CHECK(summary_errors(out) > 0);
	CHECK(strstr(err, "the reply to command 101 came as command 102"));
	CHECK(strstr(err, "replies missing") == NULL);
	free(out);
	free(err);
}

/* Error frames end their requests as errors, matched by id or by order,
 * and are said with their reason. */
static void error_frames(void)
{
	char addr[32], *out, *err;
	snprintf(addr, sizeof addr, "127.0.0.1:%d", swap_port);
	for (int ids = 0; ids < 2; ids++) {
		char *args[] = { "--connections", "2", "--duration", "0.5",
			"--outstanding", "1", "--mix", ids ? "998:8" : "999:8", addr,
			ids ? "--request-ids" : NULL, NULL };
		CHECK_INT(run_load(args, &out, &err), 0);
		CHECK(summary_errors(out) > 0);
		CHECK(strstr(err, ids ? "command 998 failed: (5) handler error"
			: "command 999 failed: (5) handler error") != NULL);
		CHECK(strstr(err, "replies missing") == NULL);
		free(out);
		free(err);
	}
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
	pid_t echo_pid = start_server(&echo_port, serve);
	pid_t swap_pid = start_server(&swap_port, serve_swapped);
	CHECK(echo_pid > 0 && swap_pid > 0);
	RUN(flat_out);
	RUN(at_rate);
	RUN(swapped_by_id);
	RUN(swapped_by_order);
	RUN(error_frames);
	kill(echo_pid, SIGKILL);
	kill(swap_pid, SIGKILL);
	waitpid(echo_pid, NULL, 0);
	waitpid(swap_pid, NULL, 0);
	RUN(bad_options);
	RUN(nobody_there);
	RUN(too_many_connections);
	return TEST_END();
}
