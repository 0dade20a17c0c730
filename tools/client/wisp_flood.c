/* wisp_flood.c: wisp-flood, a hostile client for overload drills. It
 * opens one connection, optionally sends a first frame and waits for its
 * answer (a login), then pipelines one frame over and over as fast as the
 * socket takes it, for a while, and never reads. It prints how many frames
 * went out and whether the server closed the connection: a gate under
 * flow control makes the socket stop taking bytes (TCP pushes back), so
 * the frames written stay bounded by what the kernel buffers. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include "loadkit.h"

#define CONNECT_MS 5000
#define FIRST_REPLY_MS 10000
#define BATCH 256 /* frames queued per write attempt */

struct flood_options {
	struct lk_gate gate; /* first: see struct lk_option */
	double duration;
	unsigned long command;
	const char *body;
	unsigned long first_command;
	const char *first_body;
	int read;             /* --read: read (and drop) what comes back */
};

static const char usage[] =
	"usage: wisp-flood [options] HOST:PORT\n"
	"  --duration S       seconds to flood (default 10)\n"
	"  --command N        the command id flooded (default 103)\n"
	"  --body TEXT        its body (default \"1 1\")\n"
	"  --first N:TEXT     a frame sent first, waiting for its answer\n"
	"                     (a login, say: --first 101:flooder)\n"
	"  --read             read and drop what the server sends, so that only\n"
	"                     the gate's flow control holds the flood back\n"
	LK_SHARED_USAGE;

static const char *parse_duration(void *opts, const char *v)
{
	struct flood_options *o = opts;
	return lk_real(v, 0.1, 3600, &o->duration) < 0
		? "want seconds from 0.1 to 3600" : NULL;
}

static const char *parse_command(void *opts, const char *v)
{
	struct flood_options *o = opts;
	unsigned long long n;
	if (lk_whole(v, 0, UINT32_MAX, &n) < 0)
		return "want a command id from 0 to 4294967295";
	o->command = (unsigned long)n;
	return NULL;
}

static const char *parse_body(void *opts, const char *v)
{
	((struct flood_options *)opts)->body = v;
	return NULL;
}

static const char *parse_first(void *opts, const char *v)
{
	struct flood_options *o = opts;
	unsigned long long n;
	const char *s = v;
	if (lk_read_whole(&s, UINT32_MAX, &n) < 0 || *s != ':')
		return "want COMMAND:BODY, e.g. 101:flooder";
	o->first_command = (unsigned long)n;
	o->first_body = s + 1;
	return NULL;
}

static const char *parse_read(void *opts, const char *v)
{
	struct flood_options *o = opts;
	if (strcmp(v, "yes") != 0 && strcmp(v, "no") != 0)
		return "want yes or no";
	o->read = strcmp(v, "yes") == 0;
	return NULL;
}

static const struct lk_option options[] = {
	{ "--duration", parse_duration }, { "--command", parse_command },
	{ "--body", parse_body }, { "--first", parse_first },
	{ "--read", parse_read },
};

static const struct lk_tool tool = {
	.name = "wisp-flood", .usage = usage, .options = options,
	.option_count = sizeof options / sizeof *options, .example_port = 7100,
};

/* Sends the first frame and waits for any frame back: 0, or -1. */
static int first_exchange(struct wisp_cli *c, const struct flood_options *o)
{
	struct wisp_client_frame f;
	if (o->first_body == NULL)
		return 0;
	if ((o->gate.request_ids
			? wisp_cli_send_id(c, (uint32_t)o->first_command, 1, o->first_body,
				strlen(o->first_body), FIRST_REPLY_MS)
			: wisp_cli_send(c, (uint32_t)o->first_command, o->first_body,
				strlen(o->first_body), FIRST_REPLY_MS)) < 0
		|| wisp_cli_recv(c, &f, FIRST_REPLY_MS) != 1)
		return lk_complain("first frame: %s", wisp_cli_error(c));
	return 0;
}

/* Whether the server closed the connection (or reset it). */
static int closed_by_peer(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN | POLLRDHUP };
	if (poll(&p, 1, 0) <= 0)
		return 0;
	return (p.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0;
}

static void drop_frame(void *ud, const struct wisp_client_frame *f)
{
	(void)f;
	++*(long long *)ud;
}

/* Reads what has come, if asked to: -1 when the connection failed. */
static int drain(struct wisp_cli *c, const struct flood_options *o,
	long long *frames)
{
	static uint8_t buf[65536];
	if (!o->read)
		return 0;
	return wisp_cli_read(c, buf, sizeof buf, drop_frame, frames) < 0 ? -1 : 0;
}

/* One frame of the flood; with --request-ids, id is its request id. */
static int queue(struct wisp_cli *c, const struct flood_options *o,
	uint32_t id, size_t size)
{
	if (o->gate.request_ids)
		return wisp_cli_queue_id(c, (uint32_t)o->command, id, o->body, size);
	return wisp_cli_queue(c, (uint32_t)o->command, o->body, size);
}

/* What a flood did. */
struct tally {
	long long queued;   /* frames queued: all but the last batch written */
	long long received; /* frames read back (--read) */
	int closed;         /* the connection failed or the server closed it */
};

/* Queues a batch of frames whenever the last one is all written, waiting
 * a little while the socket is full, until the time is up or the
 * connection fails. */
static void flood(struct wisp_cli *c, const struct flood_options *o,
	struct tally *t)
{
	uint64_t end = lk_now_us() + (uint64_t)(o->duration * 1e6);
	size_t size = strlen(o->body);
	int rc = 1;
	while (lk_now_us() < end && !lk_interrupted && !t->closed) {
		for (int i = 0; rc == 1 && i < BATCH; i++)
			if (queue(c, o, (uint32_t)(t->queued + 2), size) == 0)
				t->queued++;
		rc = wisp_cli_flush(c);
		if (rc < 0 || drain(c, o, &t->received) < 0)
			t->closed = 1;
		if (rc == 0) { /* full: the server is not reading */
			struct pollfd p = { .fd = wisp_cli_fd(c),
				.events = POLLOUT | (o->read ? POLLIN : 0) };
			poll(&p, 1, 10);
			if (!o->read && closed_by_peer(wisp_cli_fd(c)))
				t->closed = 1;
		}
	}
}

/* One connection: 0 when it flooded, -1 (said) when it could not. */
static int run(const struct flood_options *o)
{
	struct wisp_cli *c = lk_client(&o->gate);
	if (wisp_cli_connect(c, o->gate.host, o->gate.port, CONNECT_MS) < 0) {
		lk_complain("%s", wisp_cli_error(c));
		wisp_cli_free(c);
		return -1;
	}
	if (first_exchange(c, o) < 0) {
		wisp_cli_free(c);
		return -1;
	}
	uint64_t start = lk_now_us();
	struct tally t = { 0, 0, 0 };
	flood(c, o, &t);
	double took = (double)(lk_now_us() - start) / 1e6;
	t.closed = t.closed || closed_by_peer(wisp_cli_fd(c));
	printf("wisp-flood: %lld frames queued in %.2f s (%.0f/s), %lld frames "
		"received; closed by the server: %s\n", t.queued, took,
		(double)t.queued / took, t.received, t.closed ? "yes" : "no");
	wisp_cli_free(c);
	return 0;
}

int main(int argc, char **argv)
{
	struct flood_options o = { .duration = 10, .command = 103, .body = "1 1" };
	int rc = lk_options(&tool, &o.gate, argc, argv);
	if (rc != 0)
		return rc < 0 ? 2 : 0;
	lk_catch_interrupts();
	rc = run(&o);
	lk_gate_free(&o.gate);
	return rc < 0 ? 1 : 0;
}
