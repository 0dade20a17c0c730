/* session.c: one TLS session (session.h), with OpenSSL. The session's
 * transport is a BIO of our own that reads the bytes of the input call
 * under way and hands every record OpenSSL writes straight to the
 * connection's write: a record is copied once, into the connection's
 * output, and no memory BIO holds a second copy or grows. Each entry
 * clears the thread's OpenSSL error queue, and each failure is read from
 * it at once, so one connection's error never shows in another's. */
#include <openssl/err.h>
#include <openssl/x509.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include "tls/session.h"
#include "wisp.h"

/* Plaintext is handed on in pieces of up to this much (several records),
 * read into the stack: an idle session keeps no buffer of its own. */
#define PLAIN_CHUNK (64 * 1024)
#define ERROR_SIZE 256
/* A fresh key once this many records may have gone out under one: RFC
 * 8446 (5.5) allows AES-GCM 2^24.5 full-size records per key, OpenSSL
 * does not count them, and a link may carry 100 MB/s for weeks. The
 * tests build session.c with a lower one. */
#ifndef WISP_TLS_KEY_RECORDS
#define WISP_TLS_KEY_RECORDS (1u << 23)
#endif

struct wisp_tls_session {
	SSL *ssl;
	int established, failed;
	int depth, freed;   /* calls under way; a free waits for them */
	uint64_t records;   /* sent under the current key, at most */
	const uint8_t *in;  /* the input not yet read by OpenSSL */
	size_t in_left;
	uint8_t *pending;   /* output before the handshake is over */
	size_t pending_len, pending_cap;
	void (*write)(void *ud, const void *data, size_t size);
	void (*plain)(void *ud, const void *data, size_t size);
	void *ud;
	size_t secret_size;
	char error[ERROR_SIZE];
	uint8_t secret[];   /* the owner's, secret_size bytes */
};

/* ---- the transport ---- */

static int bio_create(BIO *b)
{
	BIO_set_init(b, 1);
	return 1;
}

/* OpenSSL's records go to the connection as they are made. */
static int bio_write(BIO *b, const char *data, int size)
{
	struct wisp_tls_session *s = BIO_get_data(b);
	if (!s->freed && size > 0)
		s->write(s->ud, data, (size_t)size);
	return size;
}

/* The input under way; when it is used up, "try again later". */
static int bio_read(BIO *b, char *out, int size)
{
	struct wisp_tls_session *s = BIO_get_data(b);
	BIO_clear_retry_flags(b);
	if (s->in_left == 0 || size <= 0) {
		BIO_set_retry_read(b);
		return -1;
	}
	size_t n = s->in_left < (size_t)size ? s->in_left : (size_t)size;
	memcpy(out, s->in, n);
	s->in += n;
	s->in_left -= n;
	return (int)n;
}

static long bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
	(void)b, (void)num, (void)ptr;
	return cmd == BIO_CTRL_FLUSH; /* nothing is held back */
}

/* One method for every session of the process, made at the first; the
 * node has one thread. */
static BIO_METHOD *bio_method(void)
{
	static BIO_METHOD *method;
	if (method)
		return method;
	BIO_METHOD *m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK,
		"wisp tls session");
	if (m && BIO_meth_set_create(m, bio_create)
		&& BIO_meth_set_write(m, bio_write) && BIO_meth_set_read(m, bio_read)
		&& BIO_meth_set_ctrl(m, bio_ctrl))
		return method = m;
	BIO_meth_free(m);
	return NULL;
}

/* ---- errors ---- */

unsigned long wisp_tls_error(char *out, size_t size, const char *otherwise)
{
	unsigned long code = ERR_get_error();
	if (code)
		ERR_error_string_n(code, out, size);
	else
		snprintf(out, size, "%s", otherwise);
	ERR_clear_error();
	return code;
}

static int fail(struct wisp_tls_session *s, const char *why)
{
	snprintf(s->error, sizeof(s->error), "%s", why);
	s->failed = 1;
	return -1;
}

/* The SSL call that returned rc: 0 when it only waits for more input,
 * else -1 with the reason kept (what: the step that failed). */
static int check(struct wisp_tls_session *s, int rc, const char *what)
{
	int e = SSL_get_error(s->ssl, rc);
	if (e == SSL_ERROR_WANT_READ)
		return 0;
	char why[ERROR_SIZE / 2], full[ERROR_SIZE];
	unsigned long code = wisp_tls_error(why, sizeof(why),
		e == SSL_ERROR_ZERO_RETURN ? "the peer closed the TLS session"
		: "the TLS session broke");
	if (ERR_GET_REASON(code) == SSL_R_CERTIFICATE_VERIFY_FAILED)
		snprintf(full, sizeof(full), "%s failed: %s (%s)", what, why,
			X509_verify_cert_error_string(SSL_get_verify_result(s->ssl)));
	else
		snprintf(full, sizeof(full), "%s failed: %s", what, why);
	return fail(s, full);
}

/* ---- a session ---- */

static void destroy(struct wisp_tls_session *s)
{
	SSL_free(s->ssl);
	OPENSSL_cleanse(s->secret, s->secret_size);
	wisp_free(s->pending);
	wisp_free(s);
}

struct wisp_tls_session *wisp_tls_session_new(SSL_CTX *ctx, int client,
	size_t secret, void (*write)(void *ud, const void *data, size_t size),
	void (*plain)(void *ud, const void *data, size_t size), void *ud)
{
	ERR_clear_error();
	BIO_METHOD *method = bio_method();
	struct wisp_tls_session *s = wisp_malloc(sizeof(*s) + secret);
	memset(s, 0, sizeof(*s) + secret);
	s->secret_size = secret;
	s->write = write;
	s->plain = plain;
	s->ud = ud;
	s->ssl = method ? SSL_new(ctx) : NULL;
	BIO *b = s->ssl ? BIO_new(method) : NULL;
	if (b == NULL) {
		destroy(s);
		ERR_clear_error();
		return NULL;
	}
	BIO_set_data(b, s);
	SSL_set_bio(s->ssl, b, b); /* one reference, taken */
	if (client)
		SSL_set_connect_state(s->ssl);
	else
		SSL_set_accept_state(s->ssl);
	return s;
}

SSL *wisp_tls_session_ssl(struct wisp_tls_session *s)
{
	return s->ssl;
}

void *wisp_tls_session_secret(struct wisp_tls_session *s)
{
	return s->secret;
}

void wisp_tls_session_free(struct wisp_tls_session *s)
{
	if (s == NULL)
		return;
	if (s->depth)
		s->freed = 1; /* from a callback: the call under way ends it */
	else
		destroy(s);
}

/* Every call that may reach a callback is bracketed by these. */
static void enter(struct wisp_tls_session *s)
{
	s->depth++;
	ERR_clear_error();
}

static int leave(struct wisp_tls_session *s, int rc)
{
	if (--s->depth == 0 && s->freed)
		destroy(s);
	return rc;
}

/* Counts the records size bytes take (each as if full-size, as the
 * limit counts them); 1 when the key must change before they go. */
static int key_worn(struct wisp_tls_session *s, size_t size)
{
	uint64_t n = size / SSL3_RT_MAX_PLAIN_LENGTH + 1;
	s->records += n;
	if (s->records <= WISP_TLS_KEY_RECORDS)
		return 0;
	s->records = n;
	return 1;
}

static int send_plain(struct wisp_tls_session *s, const void *data,
	size_t size)
{
	size_t done;
	if (size == 0)
		return 0;
	/* the KeyUpdate goes out with the write, just before its records */
	if ((!key_worn(s, size)
			|| SSL_key_update(s->ssl, SSL_KEY_UPDATE_NOT_REQUESTED) == 1)
		&& SSL_write_ex(s->ssl, data, size, &done) == 1)
		return 0;
	return check(s, 0, "TLS write") < 0 ? -1
		: fail(s, "TLS write failed: the session cannot write");
}

/* The handshake just ended: the secret goes, then what waited goes
 * out. */
static int established(struct wisp_tls_session *s)
{
	OPENSSL_cleanse(s->secret, s->secret_size);
	s->established = 1;
	int rc = send_plain(s, s->pending, s->pending_len);
	wisp_free(s->pending);
	s->pending = NULL;
	s->pending_len = s->pending_cap = 0;
	return rc;
}

static int handshake(struct wisp_tls_session *s)
{
	int rc = SSL_do_handshake(s->ssl);
	return rc == 1 ? established(s) : check(s, rc, "TLS handshake");
}

int wisp_tls_session_start(struct wisp_tls_session *s)
{
	if (s->failed)
		return -1;
	enter(s);
	return leave(s, handshake(s));
}

/* Input left, or bytes OpenSSL holds: a read with neither would only
 * fail with "want more", which costs as much as reading a small record. */
static int more_to_read(struct wisp_tls_session *s)
{
	return s->in_left > 0 || SSL_has_pending(s->ssl);
}

/* Reads plaintext until the input is used up, handing it on in chunks.
 * What a failing record would have given is never read; what came
 * before it is handed on, once the failure is noted (plain may clear the
 * thread's error queue). */
static int read_plain(struct wisp_tls_session *s)
{
	uint8_t buf[PLAIN_CHUNK];
	int rc = 0;
	while (rc == 0 && !s->freed && more_to_read(s)) {
		size_t got = 0, n;
		int ok = 1;
		while (got < sizeof(buf) && more_to_read(s)
			&& (ok = SSL_read_ex(s->ssl, buf + got, sizeof(buf) - got, &n)))
			got += n;
		if (!ok)
			rc = check(s, 0, "TLS read") < 0 ? -1 : 1;
		if (got && !s->freed)
			s->plain(s->ud, buf, got);
	}
	return rc < 0 ? -1 : 0;
}

int wisp_tls_session_input(struct wisp_tls_session *s, const void *data,
	size_t size)
{
	if (s->failed || s->freed)
		return -1;
	enter(s);
	s->in = data;
	s->in_left = size;
	int rc = s->established ? 0 : handshake(s);
	if (rc == 0 && s->established)
		rc = read_plain(s);
	s->in = NULL;
	s->in_left = 0;
	return leave(s, rc);
}

/* Keeps output for the end of the handshake. */
static void keep(struct wisp_tls_session *s, const void *data, size_t size)
{
	if (s->pending_len + size > s->pending_cap) {
		size_t cap = s->pending_cap ? s->pending_cap * 2 : 4096;
		while (cap < s->pending_len + size)
			cap *= 2;
		s->pending = wisp_realloc(s->pending, cap);
		s->pending_cap = cap;
	}
	memcpy(s->pending + s->pending_len, data, size);
	s->pending_len += size;
}

int wisp_tls_session_output(struct wisp_tls_session *s, const void *data,
	size_t size)
{
	if (s->failed || s->freed)
		return -1;
	if (size == 0)
		return 0;
	if (!s->established) {
		keep(s, data, size);
		return 0;
	}
	enter(s);
	return leave(s, send_plain(s, data, size));
}

int wisp_tls_session_established(const struct wisp_tls_session *s)
{
	return s->established && !s->failed;
}

const char *wisp_tls_session_error(const struct wisp_tls_session *s)
{
	return s->error;
}
