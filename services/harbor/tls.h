/* tls.h: TLS 1.3 on a harbor link (tls.c), run in the node's one thread
 * over in-memory transport: the connection hands in the ciphertext it
 * read and sends what the session gives it to write; nothing here blocks
 * or touches a socket. Two ways to authenticate: an external PSK that
 * both ends derived from the handshake (TLS 1.3 psk_dhe_ke, so the link
 * keeps forward secrecy), or certificates of the cluster's CA on both
 * ends, each naming its node. No session tickets, no renegotiation. */
#ifndef WISP_HARBOR_TLS_H
#define WISP_HARBOR_TLS_H

#include <stddef.h>
#include <stdint.h>
#include "harbor_config.h"

/* The PSK's size in bytes. */
#define WISP_HARBOR_TLS_PSK_SIZE 32

struct wisp_harbor_tls_ctx; /* one per harbor: what the settings give */
struct wisp_harbor_tls;     /* one per connection */

/* The context of s's mode: certificates when s->tls_mode is CERT, the
 * PSK otherwise. NULL with err filled (naming the file and what failed)
 * when the certificates cannot be loaded. */
struct wisp_harbor_tls_ctx *wisp_harbor_tls_ctx_new(
	const struct wisp_harbor_settings *s, char *err, size_t err_size);
void wisp_harbor_tls_ctx_free(struct wisp_harbor_tls_ctx *x);

/* A session; client: this side dialed. psk: WISP_HARBOR_TLS_PSK_SIZE
 * bytes in PSK mode (copied, and wiped once the handshake is over), NULL
 * in certificate mode. peer_name: the peer node's name, which its
 * certificate must carry in certificate mode. write gets ciphertext to
 * send (valid during the call only: it copies), plain each piece of
 * plaintext the peer sent, in order. Either may free the session (the
 * free then waits until the call that made it returns; nothing more
 * reaches the callbacks); plain may also call wisp_harbor_tls_output,
 * write neither that nor wisp_harbor_tls_input (OpenSSL is mid-call).
 * NULL if OpenSSL could not make one, or psk or peer_name is missing.
 * The context must outlive its sessions. */
struct wisp_harbor_tls *wisp_harbor_tls_new(struct wisp_harbor_tls_ctx *x,
	int client, const uint8_t *psk, const char *peer_name,
	void (*write)(void *ud, const void *data, size_t size),
	void (*plain)(void *ud, const void *data, size_t size), void *ud);
/* Starts the handshake: the client's first flight goes to write (a
 * server's starts with its first input; start changes nothing there).
 * 0 or -1. */
int wisp_harbor_tls_start(struct wisp_harbor_tls *t);
/* Ciphertext from the peer, any piece of the stream: 0, or -1 when the
 * peer failed the handshake or sent a record that does not authenticate
 * (wisp_harbor_tls_error says why; none of that record's plaintext, nor
 * any after it, went to plain). After -1 the session only refuses. */
int wisp_harbor_tls_input(struct wisp_harbor_tls *t, const void *data,
	size_t size);
/* Plaintext to send, encrypted to write; before the handshake is over it
 * is kept, and sent once it is. 0 or -1. */
int wisp_harbor_tls_output(struct wisp_harbor_tls *t, const void *data,
	size_t size);
/* 1 once the handshake is over (and the peer proved itself), else 0. */
int wisp_harbor_tls_established(const struct wisp_harbor_tls *t);
/* Why the session failed ("" while it has not); the text lives as long
 * as the session: copy it to keep it past wisp_harbor_tls_free. */
const char *wisp_harbor_tls_error(const struct wisp_harbor_tls *t);
void wisp_harbor_tls_free(struct wisp_harbor_tls *t);

#endif
