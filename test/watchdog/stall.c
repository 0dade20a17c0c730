/* stall.c: the C service of the watchdog test (test_watchdog.c), a
 * module built for the test only. It listens on "host:port" from its args
 * and takes one command per read: "spin" makes its handler loop forever
 * (only the master's watchdog ends it), "slow MS" keeps the handler busy
 * MS milliseconds and answers "slow done", anything else is answered
 * "ok". On the node's stop it closes its listener and exits. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "wisp.h"

struct stall {
	int listener;
};

void *stall_create(void)
{
	struct stall *s = wisp_malloc(sizeof(*s));
	s->listener = -1;
	return s;
}

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* Busy, not asleep: a handler that computes, as a careless one would. */
static void busy(long long ms)
{
	volatile unsigned long spins = 0;
	for (long long end = now_ms() + ms; ms < 0 || now_ms() < end;)
		spins++;
}

static void reply(struct wisp_context *ctx, int id, const char *text)
{
	wisp_socket_write(ctx, id, text, strlen(text));
}

static void command(struct wisp_context *ctx, const struct wisp_socket_msg *m)
{
	char line[64];
	snprintf(line, sizeof(line), "%.*s", (int)m->size, m->data);
	if (strncmp(line, "spin", 4) == 0) {
		busy(-1);
	} else if (strncmp(line, "slow ", 5) == 0) {
		busy(atoll(line + 5));
		reply(ctx, m->id, "slow done\n");
	} else {
		reply(ctx, m->id, "ok\n");
	}
}

static int stall_cb(struct wisp_context *ctx, void *ud, int type,
	int session, wisp_handle source, void *msg, size_t sz)
{
	(void)session; (void)source; (void)sz;
	struct stall *s = ud;
	const struct wisp_socket_msg *m = msg;
	if (type == WISP_MSG_SOCKET && m->event == WISP_SOCKET_ACCEPT) {
		wisp_socket_start(ctx, m->ud);
	} else if (type == WISP_MSG_SOCKET && m->event == WISP_SOCKET_DATA) {
		command(ctx, m);
	} else if (type == WISP_MSG_EXIT) {
		wisp_socket_close(ctx, s->listener);
		wisp_exit(ctx);
	}
	return 0;
}

/* args: "host:port" */
int stall_init(void *inst, struct wisp_context *ctx, const char *args)
{
	struct stall *s = inst;
	char host[64];
	int port;
	if (sscanf(args, "%63[^:]:%d", host, &port) != 2)
		return wisp_fail(ctx, "stall: want host:port, got '%s'", args);
	s->listener = wisp_socket_listen(ctx, host, port, 16);
	if (s->listener < 0)
		return wisp_fail(ctx, "stall: cannot listen on %s", args);
	wisp_set_callback(ctx, s, stall_cb);
	wisp_log(ctx, WISP_LOG_INFO, "listening on %s", args);
	return 0;
}

void stall_release(void *inst)
{
	wisp_free(inst);
}
