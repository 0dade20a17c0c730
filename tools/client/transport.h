/* transport.h: the layers a client connection's bytes may pass through
 * between its frames and its socket, private to the client library:
 * TLS over the socket (transport_tls.c) and WebSocket over that
 * (transport_ws.c). Each layer moves bytes through the one below by a
 * struct wisp_io, so that WebSocket runs the same over TLS or not. Every
 * call is non-blocking; a call that fails points *why at the reason, valid
 * until the next call on that thread. */
#ifndef WISP_TRANSPORT_H
#define WISP_TRANSPORT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct ssl_ctx_st;

/* The layer below: read or write up to n bytes; the bytes moved, 0 when
 * it would block, -1 when it failed (*why says why). pending: bytes it
 * has read from the socket but not handed up, which no poll will tell. */
struct wisp_io {
	ssize_t (*read)(void *ud, void *buf, size_t n, const char **why);
	ssize_t (*write)(void *ud, const void *buf, size_t n, const char **why);
	size_t (*pending)(void *ud);
	void *ud;
};

/* ---- TLS (transport_tls.c) ---- */

struct wisp_tls;

/* A client context: verify the server against the CA file ca, or the
 * system's store when ca is NULL; or not at all with insecure. NULL with
 * *why when it cannot be made. */
struct ssl_ctx_st *wisp_tls_context(const char *ca, int insecure,
	const char **why);
/* TLS on the connected socket fd to host (numeric; the name its
 * certificate must carry). NULL with *why. */
struct wisp_tls *wisp_tls_new(struct ssl_ctx_st *ctx, int fd,
	const char *host, const char **why);
void wisp_tls_free(struct wisp_tls *t);
/* Advances the handshake: 0 done; POLLIN or POLLOUT, what to wait for;
 * -1 failed. */
int wisp_tls_handshake(struct wisp_tls *t, const char **why);
ssize_t wisp_tls_read(void *t, void *buf, size_t n, const char **why);
ssize_t wisp_tls_write(void *t, const void *buf, size_t n, const char **why);
size_t wisp_tls_pending(void *t);

/* ---- WebSocket (transport_ws.c) ---- */

struct wisp_ws;

/* Gets each binary message the server sends; returns 0, or -1 to fail
 * the connection (then *why says why). */
typedef int wisp_ws_message_fn(void *ud, const uint8_t *msg, size_t n,
	const char **why);

/* A client over io (copied) to host:port, taking messages of at most
 * max_message bytes; the upgrade request is queued. NULL with *why. */
struct wisp_ws *wisp_ws_new(const struct wisp_io *io, const char *host,
	int port, uint64_t max_message, const char **why);
void wisp_ws_free(struct wisp_ws *w);
/* Advances the upgrade: 0 done; POLLIN or POLLOUT, what to wait for; -1
 * failed. */
int wisp_ws_upgrade(struct wisp_ws *w, const char **why);
/* Queues msg (n bytes, copied) as one binary message: 0 or -1. */
int wisp_ws_queue(struct wisp_ws *w, const void *msg, size_t n,
	const char **why);
/* Writes what is queued (pongs and closes too): 1 all of it, 0 some is
 * left, -1 failed. */
int wisp_ws_flush(struct wisp_ws *w, const char **why);
/* Reads what io holds, about budget bytes at most, handing each binary
 * message to fn: 0, or -1 failed (closed by the server included). */
int wisp_ws_read(struct wisp_ws *w, size_t budget, wisp_ws_message_fn *fn,
	void *ud, const char **why);

#endif
