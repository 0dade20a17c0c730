/* test_logfile.c: a node logging to a file reopens it on SIGHUP, so that
 * a rotated log (moved away, then HUP) goes on in a fresh file. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include "proc.h"
#include "testlib.h"

static char *slurp(const char *path)
{
	struct proc fake;
	snprintf(fake.out, sizeof(fake.out), "%s", path);
	return proc_output(&fake, 0);
}

/* Waits up to 5 s for path to contain want. */
static int wait_for(const char *path, const char *want)
{
	for (int i = 0; i < 500; i++) {
		char *text = slurp(path);
		int found = strstr(text, want) != NULL;
		free(text);
		if (found)
			return 1;
		usleep(10000);
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc != 3)
		return 2;
	char conf[64], log[64], rotated[80], text[512];
	snprintf(conf, sizeof(conf), "/tmp/wisp_logconf_%d.lua", (int)getpid());
	snprintf(log, sizeof(log), "/tmp/wisp_log_%d.log", (int)getpid());
	snprintf(rotated, sizeof(rotated), "%s.1", log);
	int port = free_port();
	snprintf(text, sizeof(text), "return { log_file = '%s', log_level = 'debug',"
		" nodes = { n = { id = 3, services = { 'echo 127.0.0.1:%d' } } } }",
		log, port);
	FILE *f = fopen(conf, "w");
	fputs(text, f);
	fclose(f);

	char *args[] = { argv[1], conf, "n", NULL };
	struct proc p;
	CHECK_INT(proc_start(&p, args, NULL), 0);
	int a = tcp_connect(port, 10000);
	CHECK(a >= 0);
	CHECK(wait_for(log, "client"));
	CHECK(wait_for(log, "allocator: "));
	CHECK_INT(rename(log, rotated), 0);
	kill(p.pid, SIGHUP);
	/* the reopen creates the file anew: that is the sign it happened */
	for (int i = 0; i < 500 && access(log, F_OK) != 0; i++)
		usleep(10000);
	CHECK_INT(access(log, F_OK), 0);
	int b = tcp_connect(port, 1000);
	CHECK(wait_for(log, "client")); /* the new file has the new line */
	close(a);
	close(b);
	kill(p.pid, SIGTERM);
	CHECK_INT(proc_wait(&p, 10000), 0);
	CHECK(wait_for(log, "all services stopped"));
	char *old = slurp(rotated);
	CHECK(strstr(old, "all services stopped") == NULL);
	free(old);
	char *out = proc_output(&p, 0);
	CHECK_STR(out, ""); /* everything went to the file */
	free(out);
	unlink(log);
	unlink(rotated);
	unlink(conf);
	proc_cleanup(&p);
	return TEST_END();
}
