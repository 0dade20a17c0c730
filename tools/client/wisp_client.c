/* wisp_client.c: one client connection to the gate: a non-blocking
 * socket, the proto/ decoder for what arrives and an output buffer for
 * what could not be written yet. The blocking calls are the non-blocking
 * ones waited on with poll until a deadline, so both uses share one path.
 * The load tool keeps thousands of these: idle, one is about 100 bytes. */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include "proto_alloc.h"
#include "wisp_client.h"

enum { IDLE, CONNECTING, OPEN, FAILED };

/* wisp_cli_recv's own buffer, allocated on its first use. */
#define IN_SIZE 16384
/* A larger output buffer is freed once written, so that one burst does
 * not keep its memory for the connection's life. */
#define OUT_KEEP 4096
#define OUT_FIRST 256
/* wisp_cli_read's reads per call: a connection its server floods must not
 * starve the others sharing the thread. */
#define READS_PER_CALL 8

struct wisp_cli {
	struct wisp_client_decoder dec;
	const struct wisp_client_proto *proto;
	uint8_t *out;  /* queued frames; out_at..out_len is not written yet */
	size_t out_at, out_len, out_cap;
	uint8_t *in;   /* wisp_cli_recv's reads; in_at..in_len not decoded */
	uint32_t in_at, in_len;
	char *error;
	int fd;
	int state;
	int request_ids; /* split each frame's request id off its body */
};

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static void set_error(struct wisp_cli *c, const char *fmt, va_list ap)
{
	char buf[160];
	vsnprintf(buf, sizeof buf, fmt, ap);
	size_t n = strlen(buf) + 1;
	wisp_proto_free(c->error);
	c->error = memcpy(wisp_proto_malloc(n), buf, n);
}

/* Records why a call did not succeed, leaving c usable; returns ret. */
__attribute__((format(printf, 3, 4)))
static int note(struct wisp_cli *c, int ret, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	set_error(c, fmt, ap);
	va_end(ap);
	return ret;
}

/* Records why c is no longer usable; returns -1. */
__attribute__((format(printf, 2, 3)))
static int fail(struct wisp_cli *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	set_error(c, fmt, ap);
	va_end(ap);
	c->state = FAILED;
	return -1;
}

/* 0 when c is connected; -1 otherwise, a failed connection keeping the
 * reason it failed for. */
static int usable(struct wisp_cli *c)
{
	if (c->state == OPEN)
		return 0;
	if (c->state == FAILED)
		return -1;
	return note(c, -1, "not connected");
}

/* Waits until fd polls ready for events or the deadline passes: 1 or 0.
 * An error or hang-up counts as ready: the call that follows reports it. */
static int wait_until(int fd, short events, long long deadline)
{
	struct pollfd p = { fd, events, 0 };
	for (;;) {
		long long left = deadline - now_ms();
		int r = poll(&p, 1, left > 0 ? (int)left : 0);
		if (r > 0)
			return 1;
		if (r == 0 || errno != EINTR)
			return 0;
	}
}

struct wisp_cli *wisp_cli_new(const struct wisp_client_proto *p)
{
	struct wisp_cli *c = wisp_proto_malloc(sizeof *c);
	memset(c, 0, sizeof *c);
	wisp_client_decoder_init(&c->dec, p);
	c->proto = p;
	c->fd = -1;
	c->state = IDLE;
	return c;
}

void wisp_cli_free(struct wisp_cli *c)
{
	if (c->fd >= 0)
		close(c->fd);
	wisp_client_decoder_free(&c->dec);
	wisp_proto_free(c->out);
	wisp_proto_free(c->in);
	wisp_proto_free(c->error);
	wisp_proto_free(c);
}

const char *wisp_cli_error(const struct wisp_cli *c)
{
	return c->error;
}

int wisp_cli_fd(const struct wisp_cli *c)
{
	return c->fd;
}

static int parse_address(const char *host, int port,
	struct sockaddr_storage *sa, socklen_t *len)
{
	struct sockaddr_in *v4 = (struct sockaddr_in *)sa;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)sa;
	memset(sa, 0, sizeof *sa);
	if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
		v4->sin_family = AF_INET;
		v4->sin_port = htons((uint16_t)port);
		*len = sizeof *v4;
		return 0;
	}
	if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
		v6->sin6_family = AF_INET6;
		v6->sin6_port = htons((uint16_t)port);
		*len = sizeof *v6;
		return 0;
	}
	return -1;
}

/* Starts the connection: 0 connected already, 1 under way, -1 failed. */
static int start_connect(struct wisp_cli *c, const char *host, int port)
{
	struct sockaddr_storage sa;
	socklen_t len;
	if (port < 1 || port > 65535)
		return fail(c, "bad port %d", port);
	if (parse_address(host, port, &sa, &len) < 0)
		return fail(c, "bad address \"%s\": not a numeric IPv4 or IPv6 "
			"address", host);
	c->fd = socket(sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		0);
	if (c->fd < 0)
		return fail(c, "socket failed: %s", strerror(errno));
	/* frames are small and their round trips are what gets measured */
	int one = 1;
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if (connect(c->fd, (struct sockaddr *)&sa, len) == 0) {
		c->state = OPEN;
		return 0;
	}
	if (errno != EINPROGRESS)
		return fail(c, "connect failed: %s", strerror(errno));
	c->state = CONNECTING;
	return 1;
}

int wisp_cli_connect(struct wisp_cli *c, const char *host, int port,
	int timeout_ms)
{
	if (c->state != IDLE)
		return c->state == FAILED ? -1 : note(c, -1, "already connected");
	long long deadline = now_ms() + timeout_ms;
	int r = start_connect(c, host, port);
	if (r != 1 || timeout_ms == 0)
		return r;
	if (!wait_until(c->fd, POLLOUT, deadline))
		return fail(c, "connect timed out after %d ms", timeout_ms);
	return wisp_cli_check(c);
}

int wisp_cli_check(struct wisp_cli *c)
{
	if (c->state != CONNECTING)
		return usable(c);
	if (!wait_until(c->fd, POLLOUT, 0))
		return 1;
	int err = 0;
	socklen_t len = sizeof err;
	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		err = errno;
	if (err != 0)
		return fail(c, "connect failed: %s", strerror(err));
	c->state = OPEN;
	return 0;
}

/* Makes room for n more bytes after the queued ones: first by moving the
 * unwritten bytes to the front, then by doubling the buffer. */
static void make_room(struct wisp_cli *c, size_t n)
{
	if (c->out_at > 0 && c->out_len + n > c->out_cap) {
		memmove(c->out, c->out + c->out_at, c->out_len - c->out_at);
		c->out_len -= c->out_at;
		c->out_at = 0;
	}
	size_t cap = c->out_cap ? c->out_cap : OUT_FIRST;
	while (cap < c->out_len + n)
		cap *= 2;
	if (cap != c->out_cap) {
		c->out = wisp_proto_realloc(c->out, cap);
		c->out_cap = cap;
	}
}

void wisp_cli_request_ids(struct wisp_cli *c, int on)
{
	c->request_ids = on;
}

/* Appends head (n bytes) and the body to the output buffer. */
static void append(struct wisp_cli *c, const uint8_t *head, size_t n,
	const void *body, size_t size)
{
	make_room(c, n + size);
	memcpy(c->out + c->out_len, head, n);
	if (size > 0)
		memcpy(c->out + c->out_len + n, body, size);
	c->out_len += n + size;
}

int wisp_cli_queue(struct wisp_cli *c, uint32_t command, const void *body,
	size_t size)
{
	uint8_t head[WISP_CLIENT_HEADER];
	if (usable(c) < 0)
		return -1;
	if (wisp_client_header(c->proto, command, size, head) < 0)
		return note(c, -1, "body of %zu bytes exceeds the limit of %"
			PRIu32, size, c->proto->max_body);
	append(c, head, sizeof head, body, size);
	return 0;
}

int wisp_cli_queue_id(struct wisp_cli *c, uint32_t command, uint32_t id,
	const void *body, size_t size)
{
	uint8_t head[WISP_CLIENT_HEADER + WISP_CLIENT_ID_SIZE];
	if (usable(c) < 0)
		return -1;
	if (wisp_client_header_id(c->proto, command, id, size, head) < 0)
		return note(c, -1, "body of %zu bytes and a request id exceed the "
			"limit of %" PRIu32, size, c->proto->max_body);
	append(c, head, sizeof head, body, size);
	return 0;
}

int wisp_cli_flush(struct wisp_cli *c)
{
	if (usable(c) < 0)
		return -1;
	while (c->out_at < c->out_len) {
		ssize_t w = send(c->fd, c->out + c->out_at, c->out_len - c->out_at,
			MSG_NOSIGNAL);
		if (w >= 0)
			c->out_at += (size_t)w;
		else if (errno == EAGAIN || errno == EWOULDBLOCK)
			return 0;
		else if (errno != EINTR)
			return fail(c, "write failed: %s", strerror(errno));
	}
	c->out_at = c->out_len = 0;
	if (c->out_cap > OUT_KEEP) {
		wisp_proto_free(c->out);
		c->out = NULL;
		c->out_cap = 0;
	}
	return 1;
}

/* Writes all that is queued, waiting until the deadline: 0 or -1. */
static int flush_until(struct wisp_cli *c, long long deadline, int timeout_ms)
{
	int r;
	while ((r = wisp_cli_flush(c)) == 0)
		if (!wait_until(c->fd, POLLOUT, deadline))
			return fail(c, "send timed out after %d ms", timeout_ms);
	return r < 0 ? -1 : 0;
}

int wisp_cli_send(struct wisp_cli *c, uint32_t command, const void *body,
	size_t size, int timeout_ms)
{
	long long deadline = now_ms() + timeout_ms;
	if (wisp_cli_queue(c, command, body, size) < 0)
		return -1;
	return flush_until(c, deadline, timeout_ms);
}

int wisp_cli_send_id(struct wisp_cli *c, uint32_t command, uint32_t id,
	const void *body, size_t size, int timeout_ms)
{
	long long deadline = now_ms() + timeout_ms;
	if (wisp_cli_queue_id(c, command, id, body, size) < 0)
		return -1;
	return flush_until(c, deadline, timeout_ms);
}

static int bad_frame(struct wisp_cli *c)
{
	char why[WISP_CLIENT_REASON_MAX];
	return fail(c, "bad frame from server: %s",
		wisp_client_reason(&c->dec, why, sizeof why));
}

/* The decoder's next frame, its request id split off when c wants that:
 * 1, 0 when data holds no more, or -1 when c failed. */
static int next_frame(struct wisp_cli *c, const uint8_t **data, size_t *size,
	struct wisp_client_frame *f)
{
	int r = wisp_client_next(&c->dec, data, size, f);
	if (r < 0)
		return bad_frame(c);
	if (r == 1 && c->request_ids && wisp_client_take_id(f) < 0)
		return fail(c, "bad frame from server: a body of %" PRIu32 " bytes, "
			"too short for a request id", f->size);
	return r;
}

/* Hands fn each whole frame data completes: their count, or -1. */
static int decode(struct wisp_cli *c, const uint8_t *data, size_t size,
	wisp_cli_frame_fn *fn, void *ud)
{
	struct wisp_client_frame f;
	int frames = 0, r;
	while ((r = next_frame(c, &data, &size, &f)) == 1) {
		fn(ud, &f);
		frames++;
	}
	return r < 0 ? -1 : frames;
}

/* One read: the bytes read, 0 when none are waiting, -1 when c failed. */
static ssize_t read_some(struct wisp_cli *c, uint8_t *buf, size_t cap)
{
	for (;;) {
		ssize_t n = recv(c->fd, buf, cap, 0);
		if (n > 0)
			return n;
		if (n == 0)
			return fail(c, "closed by server");
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return 0;
		if (errno != EINTR)
			return fail(c, "read failed: %s", strerror(errno));
	}
}

int wisp_cli_read(struct wisp_cli *c, uint8_t *buf, size_t cap,
	wisp_cli_frame_fn *fn, void *ud)
{
	if (usable(c) < 0)
		return -1;
	int frames = 0;
	for (int i = 0; i < READS_PER_CALL; i++) {
		ssize_t n = read_some(c, buf, cap);
		if (n <= 0)
			return n < 0 ? -1 : frames;
		int got = decode(c, buf, (size_t)n, fn, ud);
		if (got < 0)
			return -1;
		frames += got;
		if ((size_t)n < cap)
			break; /* a short read: nothing more is waiting */
	}
	return frames;
}

int wisp_cli_recv(struct wisp_cli *c, struct wisp_client_frame *f,
	int timeout_ms)
{
	long long deadline = now_ms() + timeout_ms;
	if (usable(c) < 0)
		return -1;
	if (c->in == NULL)
		c->in = wisp_proto_malloc(IN_SIZE);
	for (;;) {
		const uint8_t *at = c->in + c->in_at;
		size_t left = c->in_len - c->in_at;
		int r = next_frame(c, &at, &left, f);
		c->in_at = c->in_len - (uint32_t)left;
		if (r != 0)
			return r;
		/* the decoder took every byte: the buffer is free for more */
		if (!wait_until(c->fd, POLLIN, deadline))
			return note(c, 0, "no frame within %d ms", timeout_ms);
		ssize_t n = read_some(c, c->in, IN_SIZE);
		if (n < 0)
			return -1;
		c->in_at = 0;
		c->in_len = (uint32_t)n;
	}
}
