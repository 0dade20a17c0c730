/* wisp_client.h: the client side of a connection to the gate, speaking
 * the frames of proto/CLIENT.md. Blocking use: wisp_cli_connect,
 * wisp_cli_send and wisp_cli_recv, each with a timeout. Non-blocking use,
 * many connections on one thread: poll wisp_cli_fd, wisp_cli_queue frames
 * and wisp_cli_flush them when writable, wisp_cli_read when readable.
 * Every failure leaves a reason in wisp_cli_error. A gate with
 * gate.request_ids wants an id in every frame: wisp_cli_request_ids.
 * Frames go over plain TCP, or TLS, WebSocket or both:
 * wisp_cli_transport. */
#ifndef WISP_CLI_H
#define WISP_CLI_H

#include <stddef.h>
#include <stdint.h>
#include "client.h"

struct wisp_cli;
struct ssl_ctx_st;

/* How a connection carries its frames; zeroed, plain TCP. */
struct wisp_cli_transport {
	int ws;                 /* WebSocket (gate.ws_listen): each frame one
	                         * binary message */
	struct ssl_ctx_st *tls; /* TLS with this context
	                         * (wisp_cli_tls_context); NULL: none */
};

/* A TLS context for wisp_cli_transport: the server's certificate must be
 * signed by the CA in the PEM file ca (the system's store when NULL) and
 * name the address connected to; insecure: no check at all. NULL, with
 * the reason in why (n bytes), when it cannot be made. Free it with
 * wisp_cli_tls_context_free once no connection uses it. */
struct ssl_ctx_st *wisp_cli_tls_context(const char *ca, int insecure,
	char *why, size_t n);
void wisp_cli_tls_context_free(struct ssl_ctx_st *ctx);

/* A new, unconnected connection speaking p; p must outlive it. */
struct wisp_cli *wisp_cli_new(const struct wisp_client_proto *p);
/* Closes the socket and frees c. */
void wisp_cli_free(struct wisp_cli *c);

/* Why the last call on c failed or timed out, e.g. "connect failed:
 * Connection refused", "closed by server", "bad frame from server: bad
 * magic 47 45 54 20"; NULL if none has. */
const char *wisp_cli_error(const struct wisp_cli *c);
/* The socket, -1 before wisp_cli_connect. It is always non-blocking. */
int wisp_cli_fd(const struct wisp_cli *c);

/* Sets how c carries its frames, before wisp_cli_connect; t must outlive
 * c. */
void wisp_cli_transport(struct wisp_cli *c, const struct wisp_cli_transport *t);

/* Connects to host:port, host a numeric IPv4 or IPv6 address, waiting up
 * to timeout_ms: 0 once connected (and the TLS handshake and WebSocket
 * upgrade done), -1 when it failed or timed out. With timeout_ms 0 it
 * does not wait and may return 1, the connection under way: wait for the
 * fd to be ready for wisp_cli_wants, then call wisp_cli_check. */
int wisp_cli_connect(struct wisp_cli *c, const char *host, int port,
	int timeout_ms);
/* Where a connection under way stands: 0 connected, 1 still under way,
 * -1 failed. */
int wisp_cli_check(struct wisp_cli *c);
/* While a connection is under way: POLLIN or POLLOUT, what it waits
 * for (POLLOUT while TCP connects, either during the handshakes). */
int wisp_cli_wants(const struct wisp_cli *c);

/* Appends a frame to c's output buffer, writing nothing yet. -1 (queueing
 * nothing) when the body exceeds max_body or c is not connected. */
int wisp_cli_queue(struct wisp_cli *c, uint32_t command, const void *body,
	size_t size);
/* Writes what the output buffer holds, without blocking: 1 when all of
 * it is written, 0 when some is left (wait until the fd is writable),
 * -1 when c failed. */
int wisp_cli_flush(struct wisp_cli *c);
/* Queues a frame and writes it all, waiting up to timeout_ms: 0, or -1
 * when c failed or the time ran out (c then fails: a frame may be half
 * sent). */
int wisp_cli_send(struct wisp_cli *c, uint32_t command, const void *body,
	size_t size, int timeout_ms);

/* Request ids (proto/CLIENT.md "Request ids"), for a gate with
 * gate.request_ids: with on, every frame c receives has its id split off
 * its body into f->request (0 in a push; a frame too short for an id
 * fails c); send with wisp_cli_queue_id or wisp_cli_send_id then, which
 * put the id before the body. Replies then match requests by id, in
 * whatever order they come. */
void wisp_cli_request_ids(struct wisp_cli *c, int on);
/* wisp_cli_queue and wisp_cli_send with the request id id before the
 * body (size is the body's, after the id). */
int wisp_cli_queue_id(struct wisp_cli *c, uint32_t command, uint32_t id,
	const void *body, size_t size);
int wisp_cli_send_id(struct wisp_cli *c, uint32_t command, uint32_t id,
	const void *body, size_t size, int timeout_ms);

/* Gets each whole frame; its body is valid only during the call. */
typedef void wisp_cli_frame_fn(void *ud, const struct wisp_client_frame *f);

/* Reads what the socket holds, without blocking, into buf (cap bytes; the
 * caller's, so that one buffer serves every connection of a thread) and
 * hands each whole frame to fn, in order, however the stream was split.
 * Returns how many it handed out, or -1 when c failed (closed by server,
 * a read error, a bad frame), after handing out those that came before.
 * It reads a bounded amount: poll level-triggered. fn must not free c. */
int wisp_cli_read(struct wisp_cli *c, uint8_t *buf, size_t cap,
	wisp_cli_frame_fn *fn, void *ud);
/* Waits up to timeout_ms for the next frame: 1 with it in *f, its body
 * valid until the next call on c; 0 when none came in time (c stays
 * usable); -1 when c failed. Reads through a buffer of c's own: use
 * either this or wisp_cli_read on a connection, not both. */
int wisp_cli_recv(struct wisp_cli *c, struct wisp_client_frame *f,
	int timeout_ms);

#endif
