/* wisp_client.c: one client connection to the gate: a non-blocking
 * socket, the proto/ decoder for what arrives and an output buffer for
 * what could not be written yet. The blocking calls are the non-blocking
 * ones waited on with poll until a deadline, so both uses share one path.
 * The load tool keeps thousands of these: idle, one is about 150 bytes
 * (over WebSocket, some 8 KB more: wslay's buffers). A connection may
 * carry its frames over TLS, WebSocket or both (wisp_cli_transport; the
 * layers are transport_tls.c and transport_ws.c): then the handshakes
 * follow the TCP connect before it is open, and its bytes go through
 * those layers. */
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
#include "transport.h"
#include "wisp_client.h"

/* SECURING: the TLS handshake; UPGRADING: the WebSocket upgrade. */
enum { IDLE, CONNECTING, SECURING, UPGRADING, OPEN, FAILED };

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
	uint32_t in_cap; /* its size: IN_SIZE, more for a large message */
	char *error;
	const struct wisp_cli_transport *transport; /* NULL: plain TCP */
	struct wisp_tls *tls; /* TLS over the socket, or NULL */
	struct wisp_ws *ws;   /* WebSocket over that, or NULL */
	int fd;
	uint8_t state;
	uint8_t wants;   /* POLLIN or POLLOUT, while a handshake waits */
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
	if (c->ws)
		wisp_ws_free(c->ws);
	if (c->tls)
		wisp_tls_free(c->tls);
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

void wisp_cli_transport(struct wisp_cli *c, const struct wisp_cli_transport *t)
{
	c->transport = t;
}

int wisp_cli_wants(const struct wisp_cli *c)
{
	return c->state == CONNECTING ? POLLOUT : c->wants;
}

/* ---- the bytes under the frames: the socket, or TLS over it ---- */

static _Thread_local char io_reason[96];

static ssize_t io_failed(const char *verb, const char **why)
{
	snprintf(io_reason, sizeof io_reason, "%s failed: %s", verb,
		strerror(errno));
	*why = io_reason;
	return -1;
}

static ssize_t socket_read(int fd, void *buf, size_t n, const char **why)
{
	for (;;) {
		ssize_t got = recv(fd, buf, n, 0);
		if (got > 0)
			return got;
		if (got == 0) {
			*why = "closed by server";
			return -1;
		}
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return 0;
		if (errno != EINTR)
			return io_failed("read", why);
	}
}

static ssize_t socket_write(int fd, const void *buf, size_t n,
	const char **why)
{
	for (;;) {
		ssize_t put = send(fd, buf, n, MSG_NOSIGNAL);
		if (put >= 0)
			return put;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return 0;
		if (errno != EINTR)
			return io_failed("write", why);
	}
}

/* struct wisp_io over c's socket: what a WebSocket reads and writes. */
static ssize_t io_read(void *ud, void *buf, size_t n, const char **why)
{
	struct wisp_cli *c = ud;
	return c->tls ? wisp_tls_read(c->tls, buf, n, why)
		: socket_read(c->fd, buf, n, why);
}

static ssize_t io_write(void *ud, const void *buf, size_t n,
	const char **why)
{
	struct wisp_cli *c = ud;
	return c->tls ? wisp_tls_write(c->tls, buf, n, why)
		: socket_write(c->fd, buf, n, why);
}

static size_t io_pending(void *ud)
{
	struct wisp_cli *c = ud;
	return c->tls ? wisp_tls_pending(c->tls) : 0;
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

/* The layers c's transport asks for, over its new socket: 0 or -1. */
static int add_layers(struct wisp_cli *c, const char *host, int port)
{
	const struct wisp_cli_transport *t = c->transport;
	const char *why;
	if (t && t->tls && (c->tls = wisp_tls_new(t->tls, c->fd, host, &why))
		== NULL)
		return fail(c, "%s", why);
	if (t && t->ws) {
		struct wisp_io io = { io_read, io_write, io_pending, c };
		uint64_t max = WISP_CLIENT_HEADER + (uint64_t)c->proto->max_body;
		if ((c->ws = wisp_ws_new(&io, host, port, max, &why)) == NULL)
			return fail(c, "%s", why);
	}
	return 0;
}

/* What a connection under way is doing, for a timeout's complaint. */
static const char *stage(const struct wisp_cli *c)
{
	return c->state == SECURING ? " (in the TLS handshake)"
		: c->state == UPGRADING ? " (in the WebSocket upgrade)" : "";
}

/* Where a handshake left c: 1 with what it waits for, or -1. */
static int waiting(struct wisp_cli *c, int r, const char *why)
{
	if (r < 0)
		return fail(c, "%s", why);
	c->wants = (uint8_t)r;
	return 1;
}

/* Advances the handshakes over the connected socket: 0 open, 1 under
 * way, -1 failed. */
static int handshake(struct wisp_cli *c)
{
	const char *why;
	int r;
	if (c->state == SECURING) {
		if ((r = wisp_tls_handshake(c->tls, &why)) != 0)
			return waiting(c, r, why);
		c->state = c->ws ? UPGRADING : OPEN;
	}
	if (c->state == UPGRADING) {
		if ((r = wisp_ws_upgrade(c->ws, &why)) != 0)
			return waiting(c, r, why);
		c->state = OPEN;
	}
	return 0;
}

/* The TCP connection is made: on to the handshakes, if any. */
static int connected(struct wisp_cli *c)
{
	c->state = c->tls ? SECURING : c->ws ? UPGRADING : OPEN;
	return handshake(c);
}

/* Starts the connection: 0 open already, 1 under way, -1 failed. */
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
	if (add_layers(c, host, port) < 0)
		return -1;
	if (connect(c->fd, (struct sockaddr *)&sa, len) == 0)
		return connected(c);
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
	if (timeout_ms == 0)
		return r;
	while (r == 1) {
		if (!wait_until(c->fd, (short)wisp_cli_wants(c), deadline))
			return fail(c, "connect timed out after %d ms%s", timeout_ms,
				stage(c));
		r = wisp_cli_check(c);
	}
	return r;
}

int wisp_cli_check(struct wisp_cli *c)
{
	if (c->state == SECURING || c->state == UPGRADING)
		return handshake(c);
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
	return connected(c);
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

/* Drops a large output buffer, so that one burst does not keep its
 * memory. */
static void shrink_out(struct wisp_cli *c)
{
	if (c->out_cap > OUT_KEEP) {
		wisp_proto_free(c->out);
		c->out = NULL;
		c->out_cap = 0;
	}
}

/* Over WebSocket, the frame just put together in the output buffer goes
 * to wslay as one message, which wslay copies: 0 or -1. */
static int to_message(struct wisp_cli *c)
{
	const char *why;
	int r = wisp_ws_queue(c->ws, c->out, c->out_len, &why);
	c->out_len = 0;
	shrink_out(c);
	return r < 0 ? fail(c, "%s", why) : 0;
}

/* Appends head (n bytes) and the body to the output buffer: 0 or -1. */
static int append(struct wisp_cli *c, const uint8_t *head, size_t n,
	const void *body, size_t size)
{
	make_room(c, n + size);
	memcpy(c->out + c->out_len, head, n);
	if (size > 0)
		memcpy(c->out + c->out_len + n, body, size);
	c->out_len += n + size;
	return c->ws ? to_message(c) : 0;
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
	return append(c, head, sizeof head, body, size);
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
	return append(c, head, sizeof head, body, size);
}

/* wisp_cli_flush over WebSocket: wslay holds what is queued. */
static int flush_ws(struct wisp_cli *c)
{
	const char *why;
	int r = wisp_ws_flush(c->ws, &why);
	return r < 0 ? fail(c, "%s", why) : r;
}

int wisp_cli_flush(struct wisp_cli *c)
{
	const char *why;
	if (usable(c) < 0)
		return -1;
	if (c->ws)
		return flush_ws(c);
	while (c->out_at < c->out_len) {
		ssize_t w = io_write(c, c->out + c->out_at, c->out_len - c->out_at,
			&why);
		if (w < 0)
			return fail(c, "%s", why);
		if (w == 0)
			return 0;
		c->out_at += (size_t)w;
	}
	c->out_at = c->out_len = 0;
	shrink_out(c);
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
	const char *why;
	ssize_t n = io_read(c, buf, cap, &why);
	return n < 0 ? fail(c, "%s", why) : n;
}

/* A WebSocket message is one whole frame (proto/CLIENT.md): at least a
 * header, whose length field (at byte 9: the body's size + 4) tells
 * the rest. */
static int one_frame(const uint8_t *msg, size_t n, const char **why)
{
	if (n >= WISP_CLIENT_HEADER && ((uint32_t)msg[9] << 24
		| (uint32_t)msg[10] << 16 | (uint32_t)msg[11] << 8 | msg[12])
		+ (size_t)WISP_CLIENT_HEADER - 4 == n)
		return 0;
	*why = "bad message from server: not one whole frame";
	return -1;
}

/* Where wisp_cli_read's messages go: its fn, and how many frames. */
struct ws_to {
	struct wisp_cli *c;
	wisp_cli_frame_fn *fn;
	void *ud;
	int frames;
};

static int ws_frame(void *ud, const uint8_t *msg, size_t n, const char **why)
{
	struct ws_to *to = ud;
	if (one_frame(msg, n, why) < 0)
		return -1;
	int got = decode(to->c, msg, n, to->fn, to->ud);
	if (got < 0) {
		*why = wisp_cli_error(to->c);
		return -1;
	}
	to->frames += got;
	return 0;
}

/* After reading: sends wslay's answers (pongs, a close) if it can now;
 * what the socket does not take, the next flush writes. */
static int after_ws_read(struct wisp_cli *c, int r, const char *why)
{
	if (r < 0)
		return c->state == FAILED ? -1 : fail(c, "%s", why);
	return wisp_ws_flush(c->ws, &why) < 0 ? fail(c, "%s", why) : 0;
}

/* wisp_cli_read over WebSocket: each message one frame. */
static int read_ws(struct wisp_cli *c, size_t budget, wisp_cli_frame_fn *fn,
	void *ud)
{
	struct ws_to to = { c, fn, ud, 0 };
	const char *why = NULL;
	int r = wisp_ws_read(c->ws, budget, ws_frame, &to, &why);
	return after_ws_read(c, r, why) < 0 ? -1 : to.frames;
}

int wisp_cli_read(struct wisp_cli *c, uint8_t *buf, size_t cap,
	wisp_cli_frame_fn *fn, void *ud)
{
	if (usable(c) < 0)
		return -1;
	if (c->ws)
		return read_ws(c, READS_PER_CALL * cap, fn, ud);
	int frames = 0;
	/* TLS may hold bytes it read that no poll will report: take them */
	for (int i = 0; i < READS_PER_CALL || io_pending(c); i++) {
		ssize_t n = read_some(c, buf, cap);
		if (n <= 0)
			return n < 0 ? -1 : frames;
		int got = decode(c, buf, (size_t)n, fn, ud);
		if (got < 0)
			return -1;
		frames += got;
		if ((size_t)n < cap && !c->tls)
			break; /* a short read: nothing more is waiting */
	}
	return frames;
}

/* wisp_cli_recv's messages, each one frame, appended to its buffer. */
static int ws_keep(void *ud, const uint8_t *msg, size_t n, const char **why)
{
	struct wisp_cli *c = ud;
	if (one_frame(msg, n, why) < 0)
		return -1;
	if (c->in_len + n > c->in_cap) {
		uint32_t cap = c->in_cap * 2 > c->in_len + n ? c->in_cap * 2
			: c->in_len + (uint32_t)n;
		c->in = wisp_proto_realloc(c->in, cap);
		c->in_cap = cap;
	}
	memcpy(c->in + c->in_len, msg, n);
	c->in_len += (uint32_t)n;
	return 0;
}

/* Reads into wisp_cli_recv's empty buffer, without waiting: the bytes
 * read, 0 when none are waiting, -1 when c failed. */
static ssize_t fill(struct wisp_cli *c)
{
	c->in_at = c->in_len = 0;
	if (c->ws) {
		const char *why = NULL;
		int r = wisp_ws_read(c->ws, IN_SIZE, ws_keep, c, &why);
		return after_ws_read(c, r, why) < 0 ? -1 : (ssize_t)c->in_len;
	}
	ssize_t n = read_some(c, c->in, c->in_cap);
	c->in_len = n > 0 ? (uint32_t)n : 0;
	return n;
}

int wisp_cli_recv(struct wisp_cli *c, struct wisp_client_frame *f,
	int timeout_ms)
{
	long long deadline = now_ms() + timeout_ms;
	if (usable(c) < 0)
		return -1;
	if (c->in == NULL) {
		c->in = wisp_proto_malloc(IN_SIZE);
		c->in_cap = IN_SIZE;
	}
	for (;;) {
		const uint8_t *at = c->in + c->in_at;
		size_t left = c->in_len - c->in_at;
		int r = next_frame(c, &at, &left, f);
		c->in_at = c->in_len - (uint32_t)left;
		if (r != 0)
			return r;
		/* the decoder took every byte: the buffer is free for more */
		ssize_t n = fill(c);
		if (n < 0)
			return -1;
		if (n == 0 && !wait_until(c->fd, POLLIN, deadline))
			return note(c, 0, "no frame within %d ms", timeout_ms);
	}
}
