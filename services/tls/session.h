/* session.h: one TLS session (session.c), run in the node's one thread
 * over in-memory transport: the connection hands in the ciphertext it
 * read and sends what the session gives it to write; nothing here blocks
 * or touches a socket. What a session trusts and shows (certificates,
 * keys, versions) is its SSL_CTX's, which its owner builds: the harbor's
 * links (harbor/tls.c) and the gate's clients (gate/tls.c) share this
 * engine. */
#ifndef WISP_TLS_SESSION_H
#define WISP_TLS_SESSION_H

#include <openssl/ssl.h>
#include <stddef.h>

struct wisp_tls_session;

/* A session of ctx (which it holds a reference to); client: this side
 * dials. secret: bytes the owner keeps with the session for its
 * handshake (wisp_tls_session_secret), wiped once the handshake is over.
 * write gets ciphertext to send (valid during the call only: it copies),
 * plain each piece of plaintext the peer sent, in order. Either may free
 * the session (the free then waits until the call that made it returns;
 * nothing more reaches them); plain may also call
 * wisp_tls_session_output, write neither that nor
 * wisp_tls_session_input (OpenSSL is mid-call). NULL if OpenSSL could not
 * make one. */
struct wisp_tls_session *wisp_tls_session_new(SSL_CTX *ctx, int client,
	size_t secret, void (*write)(void *ud, const void *data, size_t size),
	void (*plain)(void *ud, const void *data, size_t size), void *ud);
/* The session's SSL, for its owner's settings before the start. */
SSL *wisp_tls_session_ssl(struct wisp_tls_session *s);
/* Its secret's bytes (zeroed at first). */
void *wisp_tls_session_secret(struct wisp_tls_session *s);
/* Starts the handshake: the client's first flight goes to write (a
 * server's starts with its first input; start changes nothing there).
 * 0 or -1. */
int wisp_tls_session_start(struct wisp_tls_session *s);
/* Ciphertext from the peer, any piece of the stream: 0, or -1 when the
 * peer failed the handshake or sent a record that does not authenticate
 * (wisp_tls_session_error says why; none of that record's plaintext, nor
 * any after it, went to plain). After -1 the session only refuses. */
int wisp_tls_session_input(struct wisp_tls_session *s, const void *data,
	size_t size);
/* Plaintext to send, encrypted to write; before the handshake is over it
 * is kept, and sent once it is. 0 or -1. */
int wisp_tls_session_output(struct wisp_tls_session *s, const void *data,
	size_t size);
/* 1 once the handshake is over (and the peer proved itself), else 0. */
int wisp_tls_session_established(const struct wisp_tls_session *s);
/* Why the session failed ("" while it has not); the text lives as long
 * as the session: copy it to keep it past wisp_tls_session_free. */
const char *wisp_tls_session_error(const struct wisp_tls_session *s);
void wisp_tls_session_free(struct wisp_tls_session *s);

/* The oldest error of the thread's OpenSSL queue, readable, into out
 * (otherwise when there is none); the queue is left empty. Returns the
 * error's code, 0 for none. */
unsigned long wisp_tls_error(char *out, size_t size, const char *otherwise);

#endif
