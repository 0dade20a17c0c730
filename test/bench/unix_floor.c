/* unix_floor.c: a parent and a forked child bounce one small message
 * (the size of a harbor call's frame) over a Unix socket pair, each
 * polling its end without sleeping, as spinning nodes do: the least a
 * call between two processes on this host can take, with no work on
 * either side. */
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "unix_floor.h"

#define MESSAGE 40
#define TRIPS 100000
#define ROUNDS 3

static double seconds(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Waits for one whole message on fd, polling; 0, or -1 if fd closed. */
static int take(int fd, char *buf)
{
	size_t got = 0;
	while (got < MESSAGE) {
		ssize_t n = recv(fd, buf + got, MESSAGE - got, MSG_DONTWAIT);
		if (n == 0)
			return -1;
		if (n > 0)
			got += (size_t)n;
	}
	return 0;
}

static void echo_forever(int fd)
{
	char buf[MESSAGE];
	while (take(fd, buf) == 0)
		if (send(fd, buf, MESSAGE, 0) != MESSAGE)
			break;
	_exit(0);
}

static double one_round(void)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
		return -1;
	pid_t child = fork();
	if (child == 0) {
		close(sv[0]);
		echo_forever(sv[1]);
	}
	close(sv[1]);
	double rate = -1;
	if (child > 0) {
		char buf[MESSAGE] = { 0 };
		double start = seconds();
		int i = 0;
		while (i < TRIPS && send(sv[0], buf, MESSAGE, 0) == MESSAGE
			&& take(sv[0], buf) == 0)
			i++;
		if (i == TRIPS)
			rate = TRIPS / (seconds() - start);
		kill(child, SIGKILL);
		waitpid(child, NULL, 0);
	}
	close(sv[0]);
	return rate;
}

double unix_round_trip_floor(void)
{
	double best = -1;
	for (int r = 0; r < ROUNDS; r++) {
		double rate = one_round();
		if (rate < 0)
			return -1;
		if (rate > best)
			best = rate;
	}
	return best;
}
