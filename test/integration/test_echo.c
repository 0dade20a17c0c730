/* test_echo.c: starts `wisp conf/echo.lua main`, talks to the echo
 * service over TCP from several clients, then stops the node with
 * SIGTERM and checks it exits cleanly after releasing its services. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include "proc.h"
#include "testlib.h"

static void echo_round_trip(int fd, const char *text)
{
	size_t n = strlen(text);
	char back[256] = { 0 };
	CHECK_INT(tcp_write_all(fd, text, n), 0);
	CHECK_INT(tcp_read_exact(fd, back, n, 5000), 0);
	CHECK_STR(back, text);
}

static void large_payload(int fd)
{
	size_t n = 1 << 20;
	unsigned char *out = malloc(n), *in = malloc(n);
	for (size_t i = 0; i < n; i++)
		out[i] = (unsigned char)(i * 7 + (i >> 11));
	CHECK_INT(tcp_write_all(fd, out, n), 0);
	CHECK_INT(tcp_read_exact(fd, in, n, 10000), 0);
	CHECK(memcmp(in, out, n) == 0);
	free(out);
	free(in);
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: test_echo WISP SOURCE_ROOT\n");
		return 2;
	}
	char conf[512], addr[64];
	snprintf(conf, sizeof(conf), "%s/conf/echo.lua", argv[2]);
	int port = free_port();
	snprintf(addr, sizeof(addr), "WISP_ECHO_ADDR=127.0.0.1:%d", port);
	char *args[] = { argv[1], conf, "main", NULL };
	char *env[] = { addr, NULL };
	struct proc p;
	CHECK_INT(proc_start(&p, args, env), 0);

	int a = tcp_connect(port, 10000), b = tcp_connect(port, 1000);
	CHECK(a >= 0 && b >= 0);
	echo_round_trip(a, "hello from a");
	echo_round_trip(b, "hello from b");
	close(b); /* one client leaving does not disturb the others */
	echo_round_trip(a, "still here");
	int c = tcp_connect(port, 1000);
	large_payload(c);
	close(c);
	close(a);

	kill(p.pid, SIGTERM);
	CHECK_INT(proc_wait(&p, 10000), 0);
	char *out = proc_output(&p, 0), *err = proc_output(&p, 1);
	CHECK(strstr(out, "listening on 127.0.0.1") != NULL);
	CHECK(strstr(out, "stopping on signal 15") != NULL);
	CHECK(strstr(out, "released after 3 clients") != NULL);
	CHECK(strstr(out, "all services stopped") != NULL);
	CHECK_STR(err, "");
	if (test_failures)
		fprintf(stderr, "stdout:\n%s\nstderr:\n%s\n", out, err);
	free(out);
	free(err);
	proc_cleanup(&p);
	return TEST_END();
}
