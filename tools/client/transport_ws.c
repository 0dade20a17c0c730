/* transport_ws.c: the client side of a WebSocket (RFC 6455) for a client
 * connection (transport.h): the HTTP upgrade, written and checked here
 * (a random key, the 101 and its Sec-WebSocket-Accept, the response at
 * most HEAD_MAX bytes), then wslay's event API in client mode for the
 * framing: it masks what is sent, puts fragments together, answers pings
 * and closes. wslay moves its bytes through the layer below (plain or
 * TLS) by its callbacks. */
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <wslay/wslay.h>
#include "proto_alloc.h"
#include "transport.h"

/* The upgrade request, then the server's response, are at most this. */
#define HEAD_MAX 4096
#define KEY_LEN 24    /* base64 of 16 random bytes */
#define ACCEPT_LEN 28 /* base64 of a SHA-1 */
/* wslay's output is gathered up to this and written at once: many small
 * messages then take one write (and packet), not two each (wslay sends
 * a frame's header and payload apart). */
#define OUT_MAX 16384

static const char guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

struct wisp_ws {
	wslay_event_context_ptr ctx; /* NULL until the upgrade is done */
	struct wisp_io io;
	char *head;      /* the upgrade's request, then its response */
	size_t head_at;  /* request: bytes written; response: bytes used */
	size_t head_len; /* bytes in head */
	int sending;     /* the request is not all written yet */
	int failed;      /* a message callback failed the connection */
	uint8_t *out;    /* wslay's output, out_at..out_len not written yet;
	                  * NULL once all of it is */
	size_t out_at, out_len;
	size_t budget;   /* bytes wisp_ws_read may still read */
	uint64_t max_message;
	wisp_ws_message_fn *fn;
	void *ud;
	const char *why; /* why a callback failed */
	char accept[ACCEPT_LEN + 1]; /* what the server must answer */
};

static _Thread_local char reason[200];

__attribute__((format(printf, 2, 3)))
static int fail(const char **why, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(reason, sizeof reason, fmt, ap);
	va_end(ap);
	*why = reason;
	return -1;
}

/* ---- the upgrade ---- */

/* The key of the request into key, and the accept it wants. */
static int make_key(struct wisp_ws *w, char key[KEY_LEN + 1])
{
	unsigned char raw[16], digest[EVP_MAX_MD_SIZE];
	char joined[KEY_LEN + sizeof guid];
	unsigned len;
	if (RAND_bytes(raw, sizeof raw) != 1)
		return -1;
	EVP_EncodeBlock((unsigned char *)key, raw, sizeof raw);
	snprintf(joined, sizeof joined, "%s%s", key, guid);
	if (!EVP_Digest(joined, strlen(joined), digest, &len, EVP_sha1(), NULL))
		return -1;
	EVP_EncodeBlock((unsigned char *)w->accept, digest, (int)len);
	return 0;
}

/* host:port as a Host header wants it, an IPv6 address in brackets. */
static void host_port(char *out, size_t n, const char *host, int port)
{
	snprintf(out, n, strchr(host, ':') ? "[%s]:%d" : "%s:%d", host, port);
}

static int queue_request(struct wisp_ws *w, const char *host, int port)
{
	char key[KEY_LEN + 1], where[64];
	if (make_key(w, key) < 0)
		return -1;
	host_port(where, sizeof where, host, port);
	w->head_len = (size_t)snprintf(w->head, HEAD_MAX, "GET / HTTP/1.1\r\n"
		"Host: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
		"Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n",
		where, key);
	w->sending = 1;
	return 0;
}

struct wisp_ws *wisp_ws_new(const struct wisp_io *io, const char *host,
	int port, uint64_t max_message, const char **why)
{
	struct wisp_ws *w = wisp_proto_malloc(sizeof *w);
	memset(w, 0, sizeof *w);
	w->io = *io;
	w->max_message = max_message;
	w->head = wisp_proto_malloc(HEAD_MAX);
	if (queue_request(w, host, port) < 0) {
		wisp_ws_free(w);
		*why = "cannot make a WebSocket key: no random bytes";
		return NULL;
	}
	return w;
}

void wisp_ws_free(struct wisp_ws *w)
{
	if (w->ctx)
		wslay_event_context_free(w->ctx);
	wisp_proto_free(w->head);
	wisp_proto_free(w->out);
	wisp_proto_free(w);
}

/* The value of header name in the response's header lines (between the
 * status line and the blank line), spaces trimmed: its length, -1 if
 * absent. */
static int header(const char *head, const char *name, const char **value)
{
	size_t n = strlen(name);
	for (const char *line = strstr(head, "\r\n"); line && line[2] != '\0';
		line = strstr(line + 2, "\r\n")) {
		const char *at = line + 2, *end = strstr(at, "\r\n");
		if (strncasecmp(at, name, n) != 0 || at[n] != ':')
			continue;
		for (at += n + 1; *at == ' ' || *at == '\t'; at++)
			;
		while (end > at && (end[-1] == ' ' || end[-1] == '\t'))
			end--;
		*value = at;
		return (int)(end - at);
	}
	return -1;
}

/* The whole response (head, NUL-terminated before its blank line's end):
 * a 101 that accepts this key. */
static int check_response(struct wisp_ws *w, const char **why)
{
	const char *v;
	int n;
	if (strncmp(w->head, "HTTP/1.1 101 ", 13) != 0)
		return fail(why, "WebSocket upgrade refused: %.*s",
			(int)strcspn(w->head, "\r\n") < 80
			? (int)strcspn(w->head, "\r\n") : 80, w->head);
	if ((n = header(w->head, "Upgrade", &v)) != 9
		|| strncasecmp(v, "websocket", 9) != 0)
		return fail(why, "WebSocket upgrade: no \"Upgrade: websocket\" in "
			"the 101");
	if ((n = header(w->head, "Sec-WebSocket-Accept", &v)) != ACCEPT_LEN
		|| memcmp(v, w->accept, ACCEPT_LEN) != 0)
		return fail(why, "WebSocket upgrade: %s Sec-WebSocket-Accept",
			n < 0 ? "no" : "a wrong");
	return 0;
}

static int write_request(struct wisp_ws *w, const char **why)
{
	while (w->head_at < w->head_len) {
		ssize_t n = w->io.write(w->io.ud, w->head + w->head_at,
			w->head_len - w->head_at, why);
		if (n <= 0)
			return n < 0 ? fail(why, "WebSocket upgrade: %s", *why)
				: POLLOUT;
		w->head_at += (size_t)n;
	}
	w->sending = 0;
	w->head_at = w->head_len = 0;
	return 0;
}

static int start_framing(struct wisp_ws *w, const char **why);

/* Reads the response until its blank line: 0 once checked, POLLIN, -1. */
static int read_response(struct wisp_ws *w, const char **why)
{
	for (;;) {
		/* one byte kept for the NUL that ends the header lines */
		ssize_t n = w->io.read(w->io.ud, w->head + w->head_len,
			HEAD_MAX - 1 - w->head_len, why);
		if (n <= 0)
			return n < 0 ? fail(why, "WebSocket upgrade: %s", *why)
				: POLLIN;
		size_t from = w->head_len > 3 ? w->head_len - 3 : 0;
		w->head_len += (size_t)n;
		w->head[w->head_len] = '\0';
		char *end = strstr(w->head + from, "\r\n\r\n");
		if (end != NULL) {
			end[2] = '\0'; /* the frames after it are wslay's */
			w->head_at = (size_t)(end + 4 - w->head);
			return check_response(w, why) < 0 ? -1 : start_framing(w, why);
		}
		if (w->head_len == HEAD_MAX - 1 || memchr(w->head, '\0', w->head_len))
			return fail(why, "WebSocket upgrade: the response exceeds %d "
				"bytes or holds a NUL", HEAD_MAX - 1);
	}
}

int wisp_ws_upgrade(struct wisp_ws *w, const char **why)
{
	if (w->sending) {
		int r = write_request(w, why);
		if (r != 0)
			return r;
	}
	return read_response(w, why);
}

/* ---- framing, by wslay ---- */

/* Bytes for wslay: the rest of the upgrade's read first, then the layer
 * below, until the read's budget is spent (and nothing is buffered below,
 * which no poll would report). */
static ssize_t on_recv(wslay_event_context_ptr ctx, uint8_t *buf, size_t len,
	int flags, void *ud)
{
	struct wisp_ws *w = ud;
	(void)flags;
	if (w->head != NULL) {
		size_t n = w->head_len - w->head_at;
		n = n < len ? n : len;
		memcpy(buf, w->head + w->head_at, n);
		w->head_at += n;
		if (w->head_at == w->head_len) {
			wisp_proto_free(w->head);
			w->head = NULL;
		}
		if (n > 0)
			return (ssize_t)n;
	}
	if (w->budget == 0 && w->io.pending(w->io.ud) == 0) {
		wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
		return -1;
	}
	ssize_t n = w->io.read(w->io.ud, buf, len, &w->why);
	if (n <= 0) {
		wslay_event_set_error(ctx, n == 0 ? WSLAY_ERR_WOULDBLOCK
			: WSLAY_ERR_CALLBACK_FAILURE);
		return -1;
	}
	w->budget -= (size_t)n < w->budget ? (size_t)n : w->budget;
	return n;
}

/* wslay's output, gathered for write_out. */
static ssize_t on_send(wslay_event_context_ptr ctx, const uint8_t *data,
	size_t len, int flags, void *ud)
{
	struct wisp_ws *w = ud;
	(void)flags;
	size_t n = OUT_MAX - w->out_len;
	if (n == 0) {
		wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
		return -1;
	}
	if (w->out == NULL)
		w->out = wisp_proto_malloc(OUT_MAX);
	n = n < len ? n : len;
	memcpy(w->out + w->out_len, data, n);
	w->out_len += n;
	return (ssize_t)n;
}

/* Writes what on_send gathered: 1 all of it, 0 some is left, -1. */
static int write_out(struct wisp_ws *w, const char **why)
{
	while (w->out_at < w->out_len) {
		ssize_t n = w->io.write(w->io.ud, w->out + w->out_at,
			w->out_len - w->out_at, why);
		if (n <= 0)
			return n < 0 ? -1 : 0;
		w->out_at += (size_t)n;
	}
	/* an idle connection keeps no buffer */
	wisp_proto_free(w->out);
	w->out = NULL;
	w->out_at = w->out_len = 0;
	return 1;
}

static int on_genmask(wslay_event_context_ptr ctx, uint8_t *buf, size_t len,
	void *ud)
{
	(void)ud;
	if (RAND_bytes(buf, (int)len) == 1)
		return 0;
	wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
	return -1;
}

/* Binary messages go up; pings wslay answers, closes wisp_ws_read
 * reports. Anything else fails the connection. */
static void on_message(wslay_event_context_ptr ctx,
	const struct wslay_event_on_msg_recv_arg *arg, void *ud)
{
	struct wisp_ws *w = ud;
	if (w->failed || (arg->opcode != WSLAY_TEXT_FRAME
		&& arg->opcode != WSLAY_BINARY_FRAME))
		return;
	if (arg->opcode == WSLAY_TEXT_FRAME) {
		w->why = "a text message from server, not a binary one";
		w->failed = 1;
	} else if (w->fn(w->ud, arg->msg, arg->msg_length, &w->why) < 0) {
		w->failed = 1;
	}
	if (w->failed)
		wslay_event_shutdown_read(ctx);
}

static const struct wslay_event_callbacks callbacks = {
	.recv_callback = on_recv,
	.send_callback = on_send,
	.genmask_callback = on_genmask,
	.on_msg_recv_callback = on_message,
};

static int start_framing(struct wisp_ws *w, const char **why)
{
	if (wslay_event_context_client_init(&w->ctx, &callbacks, w) != 0) {
		w->ctx = NULL;
		*why = "out of memory for a WebSocket";
		return -1;
	}
	wslay_event_config_set_max_recv_msg_length(w->ctx, w->max_message);
	if (w->head_at == w->head_len) { /* nothing came after the 101 */
		wisp_proto_free(w->head);
		w->head = NULL;
	}
	return 0;
}

int wisp_ws_queue(struct wisp_ws *w, const void *msg, size_t n,
	const char **why)
{
	struct wslay_event_msg m = { WSLAY_BINARY_FRAME, msg, n };
	int r = wslay_event_queue_msg(w->ctx, &m);
	return r == 0 ? 0 : fail(why, "cannot queue a WebSocket message "
		"(wslay error %d)", r);
}

/* wslay's error r of a send or receive, as a reason. */
static int wslay_failed(struct wisp_ws *w, int r, const char *verb,
	const char **why)
{
	if (r == WSLAY_ERR_CALLBACK_FAILURE && w->why) {
		*why = w->why;
		return -1;
	}
	return fail(why, "WebSocket %s failed (wslay error %d)", verb, r);
}

int wisp_ws_flush(struct wisp_ws *w, const char **why)
{
	int r;
	while ((r = write_out(w, why)) == 1 && wslay_event_want_write(w->ctx)) {
		if ((r = wslay_event_send(w->ctx)) != 0)
			return wslay_failed(w, r, "write", why);
		if (w->out_len == 0)
			return 0; /* no progress: never spin here */
	}
	return r;
}

/* Why reading stopped: a message we refuse (closed with 1002), the
 * server's close (answered), or bad data wslay found (closed with its
 * code); the close goes out now if the socket takes it. */
static int stopped(struct wisp_ws *w, const char **why)
{
	const char *ignored;
	if (w->failed)
		wslay_event_queue_close(w->ctx, WSLAY_CODE_PROTOCOL_ERROR, NULL, 0);
	wisp_ws_flush(w, &ignored);
	if (w->failed) {
		*why = w->why;
		return -1;
	}
	if (wslay_event_get_close_received(w->ctx))
		return fail(why, "closed by server (WebSocket close code %u)",
			(unsigned)wslay_event_get_status_code_received(w->ctx));
	if (wslay_event_get_status_code_sent(w->ctx) == WSLAY_CODE_MESSAGE_TOO_BIG)
		return fail(why, "a message from server over the limit of %llu "
			"bytes (the frame size limit, --max-body): closing it with code "
			"1009", (unsigned long long)w->max_message);
	return fail(why, "bad WebSocket data from server (closing it with "
		"code %u)", (unsigned)wslay_event_get_status_code_sent(w->ctx));
}

int wisp_ws_read(struct wisp_ws *w, size_t budget, wisp_ws_message_fn *fn,
	void *ud, const char **why)
{
	w->budget = budget;
	w->fn = fn;
	w->ud = ud;
	w->why = NULL;
	int r = wslay_event_recv(w->ctx);
	if (r != 0)
		return w->failed ? stopped(w, why) : wslay_failed(w, r, "read", why);
	return wslay_event_get_read_enabled(w->ctx) ? 0 : stopped(w, why);
}
