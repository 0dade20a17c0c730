/* tls.c: TLS 1.3 on a harbor link (tls.h), with OpenSSL. The session's
 * transport is a BIO of our own that reads the bytes of the input call
 * under way and hands every record OpenSSL writes straight to the
 * connection's write: a record is copied once, into the connection's
 * output, and no memory BIO holds a second copy or grows. Each entry
 * clears the thread's OpenSSL error queue, and each failure is read from
 * it at once, so one connection's error never shows in another's. */
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>
#include "tls.h"
#include "wisp.h"

/* Plaintext is handed on in pieces of up to this much (several records),
 * read into the stack: an idle link keeps no buffer of its own. */
#define PLAIN_CHUNK (64 * 1024)
#define ERROR_SIZE 256
/* A fresh key once this many records may have gone out under one: RFC
 * 8446 (5.5) allows AES-GCM 2^24.5 full-size records per key, OpenSSL
 * does not count them, and a harbor link may carry 100 MB/s for weeks.
 * The tests build tls.c with a lower one. */
#ifndef WISP_HARBOR_TLS_KEY_RECORDS
#define WISP_HARBOR_TLS_KEY_RECORDS (1u << 23)
#endif

/* TLS 1.3's TLS_AES_128_GCM_SHA256: AES-NI and PCLMUL make it the
 * cheapest per byte where they exist, as on any x86-64 of the last ten
 * years; one suite only, so the PSK's hash is never in question. */
static const unsigned char suite_id[2] = { 0x13, 0x01 };
#define SUITE_NAME "TLS_AES_128_GCM_SHA256"
/* Both ends derive the key for this connection alone: the identity only
 * says which kind of key it is. */
static const unsigned char psk_identity[] = "wisp-harbor-v1";

struct wisp_harbor_tls_ctx {
	SSL_CTX *ssl;
	BIO_METHOD *bio; /* the sessions' transport */
	int psk;         /* PSK mode, else certificates */
};

struct wisp_harbor_tls {
	SSL *ssl;
	int psk_mode;
	int established, failed;
	int depth, freed;   /* calls under way; a free waits for them */
	uint64_t records;   /* sent under the current key, at most */
	uint8_t psk[WISP_HARBOR_TLS_PSK_SIZE];
	const uint8_t *in;  /* the input not yet read by OpenSSL */
	size_t in_left;
	uint8_t *pending;   /* output before the handshake is over */
	size_t pending_len, pending_cap;
	void (*write)(void *ud, const void *data, size_t size);
	void (*plain)(void *ud, const void *data, size_t size);
	void *ud;
	char error[ERROR_SIZE];
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
	struct wisp_harbor_tls *t = BIO_get_data(b);
	if (!t->freed && size > 0)
		t->write(t->ud, data, (size_t)size);
	return size;
}

/* The input under way; when it is used up, "try again later". */
static int bio_read(BIO *b, char *out, int size)
{
	struct wisp_harbor_tls *t = BIO_get_data(b);
	BIO_clear_retry_flags(b);
	if (t->in_left == 0 || size <= 0) {
		BIO_set_retry_read(b);
		return -1;
	}
	size_t n = t->in_left < (size_t)size ? t->in_left : (size_t)size;
	memcpy(out, t->in, n);
	t->in += n;
	t->in_left -= n;
	return (int)n;
}

static long bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
	(void)b, (void)num, (void)ptr;
	return cmd == BIO_CTRL_FLUSH; /* nothing is held back */
}

static BIO_METHOD *bio_method(void)
{
	BIO_METHOD *m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK,
		"wisp harbor link");
	if (m && BIO_meth_set_create(m, bio_create)
		&& BIO_meth_set_write(m, bio_write) && BIO_meth_set_read(m, bio_read)
		&& BIO_meth_set_ctrl(m, bio_ctrl))
		return m;
	BIO_meth_free(m);
	return NULL;
}

/* ---- errors ---- */

/* The oldest error of the thread's queue, readable, into out; the queue
 * is left empty. Returns the error's code (0: none, then otherwise). */
static unsigned long openssl_error(char *out, size_t size,
	const char *otherwise)
{
	unsigned long code = ERR_get_error();
	if (code)
		ERR_error_string_n(code, out, size);
	else
		snprintf(out, size, "%s", otherwise);
	ERR_clear_error();
	return code;
}

static int fail(struct wisp_harbor_tls *t, const char *why)
{
	snprintf(t->error, sizeof(t->error), "%s", why);
	t->failed = 1;
	return -1;
}

/* The SSL call that returned rc: 0 when it only waits for more input,
 * else -1 with the reason kept (what: the step that failed). */
static int check(struct wisp_harbor_tls *t, int rc, const char *what)
{
	int e = SSL_get_error(t->ssl, rc);
	if (e == SSL_ERROR_WANT_READ)
		return 0;
	char why[ERROR_SIZE / 2], full[ERROR_SIZE];
	unsigned long code = openssl_error(why, sizeof(why),
		e == SSL_ERROR_ZERO_RETURN ? "the peer closed the TLS session"
		: "the TLS session broke");
	if (ERR_GET_REASON(code) == SSL_R_CERTIFICATE_VERIFY_FAILED)
		snprintf(full, sizeof(full), "%s failed: %s (%s)", what, why,
			X509_verify_cert_error_string(SSL_get_verify_result(t->ssl)));
	else
		snprintf(full, sizeof(full), "%s failed: %s", what, why);
	return fail(t, full);
}

/* ---- PSK ---- */

/* A session that carries the connection's key, as OpenSSL takes an
 * external PSK. */
static SSL_SESSION *psk_session(SSL *ssl)
{
	struct wisp_harbor_tls *t = SSL_get_app_data(ssl);
	const SSL_CIPHER *suite = SSL_CIPHER_find(ssl, suite_id);
	SSL_SESSION *s = SSL_SESSION_new();
	if (s && suite && SSL_SESSION_set1_master_key(s, t->psk, sizeof(t->psk))
		&& SSL_SESSION_set1_id_context(s, psk_identity,
			sizeof(psk_identity) - 1)
		&& SSL_SESSION_set_cipher(s, suite)
		&& SSL_SESSION_set_protocol_version(s, TLS1_3_VERSION))
		return s;
	SSL_SESSION_free(s);
	return NULL;
}

static int use_psk(SSL *ssl, const EVP_MD *md, const unsigned char **id,
	size_t *id_len, SSL_SESSION **sess)
{
	(void)md; /* the one suite's hash: it always fits */
	*sess = psk_session(ssl);
	*id = psk_identity;
	*id_len = sizeof(psk_identity) - 1;
	return *sess != NULL;
}

/* Another identity: no PSK, and without one the handshake fails (this
 * end has no certificate). */
static int find_psk(SSL *ssl, const unsigned char *id, size_t id_len,
	SSL_SESSION **sess)
{
	*sess = NULL;
	if (id_len != sizeof(psk_identity) - 1
		|| memcmp(id, psk_identity, id_len) != 0)
		return 1;
	*sess = psk_session(ssl);
	return *sess != NULL;
}

/* ---- the context ---- */

/* What both modes share: TLS 1.3 alone, one suite, no tickets, no
 * session cache, buffers given back while a link is idle, the peer
 * verified (in PSK mode against no CA at all: a peer that shows a
 * certificate instead of using the key is refused). */
static SSL_CTX *base_ctx(void)
{
	SSL_CTX *c = SSL_CTX_new(TLS_method());
	if (c == NULL)
		return NULL;
	SSL_CTX_set_options(c, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_TICKET);
	/* no fake ChangeCipherSpec records: both ends are ours */
	SSL_CTX_clear_options(c, SSL_OP_ENABLE_MIDDLEBOX_COMPAT);
	SSL_CTX_set_mode(c, SSL_MODE_RELEASE_BUFFERS);
	SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_verify(c, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
		NULL);
	/* a server that verifies takes a PSK only in a named context */
	if (SSL_CTX_set_session_id_context(c, psk_identity,
			sizeof(psk_identity) - 1)
		&& SSL_CTX_set_min_proto_version(c, TLS1_3_VERSION)
		&& SSL_CTX_set_max_proto_version(c, TLS1_3_VERSION)
		&& SSL_CTX_set_ciphersuites(c, SUITE_NAME)
		&& SSL_CTX_set1_groups_list(c, "X25519:P-256")
		&& SSL_CTX_set_num_tickets(c, 0))
		return c;
	SSL_CTX_free(c);
	return NULL;
}

/* file into c as what (the config key names it); 0, or -1 with err. */
static int load(SSL_CTX *c, const char *key, const char *file, char *err,
	size_t err_size)
{
	int ok;
	if (strcmp(key, "cert") == 0)
		ok = SSL_CTX_use_certificate_chain_file(c, file);
	else if (strcmp(key, "key") == 0)
		ok = SSL_CTX_use_PrivateKey_file(c, file, SSL_FILETYPE_PEM)
			&& SSL_CTX_check_private_key(c);
	else
		ok = SSL_CTX_load_verify_file(c, file);
	if (ok == 1)
		return 0;
	char why[ERROR_SIZE];
	openssl_error(why, sizeof(why), "unknown error");
	snprintf(err, err_size, "harbor.tls.%s: cannot use '%s': %s", key, file,
		why);
	return -1;
}

static int load_certificates(SSL_CTX *c, const struct wisp_harbor_settings *s,
	char *err, size_t err_size)
{
	return load(c, "cert", s->tls_cert, err, err_size) < 0
		|| load(c, "key", s->tls_key, err, err_size) < 0
		|| load(c, "ca", s->tls_ca, err, err_size) < 0 ? -1 : 0;
}

struct wisp_harbor_tls_ctx *wisp_harbor_tls_ctx_new(
	const struct wisp_harbor_settings *s, char *err, size_t err_size)
{
	ERR_clear_error();
	struct wisp_harbor_tls_ctx *x = wisp_malloc(sizeof(*x));
	x->psk = s->tls_mode != WISP_HARBOR_TLS_CERT;
	x->ssl = base_ctx();
	x->bio = bio_method();
	if (x->ssl == NULL || x->bio == NULL) {
		char why[ERROR_SIZE];
		openssl_error(why, sizeof(why), "out of memory");
		snprintf(err, err_size, "harbor.tls: OpenSSL failed: %s", why);
		wisp_harbor_tls_ctx_free(x);
		return NULL;
	}
	if (x->psk) {
		SSL_CTX_set_psk_use_session_callback(x->ssl, use_psk);
		SSL_CTX_set_psk_find_session_callback(x->ssl, find_psk);
	} else if (load_certificates(x->ssl, s, err, err_size) < 0) {
		wisp_harbor_tls_ctx_free(x);
		return NULL;
	}
	return x;
}

void wisp_harbor_tls_ctx_free(struct wisp_harbor_tls_ctx *x)
{
	if (x == NULL)
		return;
	SSL_CTX_free(x->ssl);
	BIO_meth_free(x->bio);
	wisp_free(x);
}

/* ---- a session ---- */

/* t's SSL over its own transport; 0, or -1 when OpenSSL could not. */
static int open_ssl(struct wisp_harbor_tls_ctx *x, struct wisp_harbor_tls *t,
	int client, const char *peer_name)
{
	t->ssl = SSL_new(x->ssl);
	BIO *b = BIO_new(x->bio);
	if (t->ssl == NULL || b == NULL) {
		BIO_free(b);
		return -1;
	}
	BIO_set_data(b, t);
	SSL_set_bio(t->ssl, b, b); /* one reference, taken */
	SSL_set_app_data(t->ssl, t);
	if (client)
		SSL_set_connect_state(t->ssl);
	else
		SSL_set_accept_state(t->ssl);
	if (t->psk_mode)
		return 0;
	/* the certificate must name the peer node: checked by the chain's
	 * verification (X509_check_host), on both ends */
	SSL_set_hostflags(t->ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
	return peer_name && SSL_set1_host(t->ssl, peer_name) == 1 ? 0 : -1;
}

static void destroy(struct wisp_harbor_tls *t)
{
	SSL_free(t->ssl);
	OPENSSL_cleanse(t->psk, sizeof(t->psk));
	wisp_free(t->pending);
	wisp_free(t);
}

struct wisp_harbor_tls *wisp_harbor_tls_new(struct wisp_harbor_tls_ctx *x,
	int client, const uint8_t *psk, const char *peer_name,
	void (*write)(void *ud, const void *data, size_t size),
	void (*plain)(void *ud, const void *data, size_t size), void *ud)
{
	if (x->psk && psk == NULL)
		return NULL;
	ERR_clear_error();
	struct wisp_harbor_tls *t = wisp_malloc(sizeof(*t));
	memset(t, 0, sizeof(*t));
	t->psk_mode = x->psk;
	if (x->psk)
		memcpy(t->psk, psk, sizeof(t->psk));
	t->write = write;
	t->plain = plain;
	t->ud = ud;
	if (open_ssl(x, t, client, peer_name) < 0) {
		destroy(t);
		ERR_clear_error();
		return NULL;
	}
	return t;
}

void wisp_harbor_tls_free(struct wisp_harbor_tls *t)
{
	if (t == NULL)
		return;
	if (t->depth)
		t->freed = 1; /* from a callback: the call under way ends it */
	else
		destroy(t);
}

/* Every call that may reach a callback is bracketed by these. */
static void enter(struct wisp_harbor_tls *t)
{
	t->depth++;
	ERR_clear_error();
}

static int leave(struct wisp_harbor_tls *t, int rc)
{
	if (--t->depth == 0 && t->freed)
		destroy(t);
	return rc;
}

/* Counts the records size bytes take (each as if full-size, as the
 * limit counts them); 1 when the key must change before they go. */
static int key_worn(struct wisp_harbor_tls *t, size_t size)
{
	uint64_t n = size / SSL3_RT_MAX_PLAIN_LENGTH + 1;
	t->records += n;
	if (t->records <= WISP_HARBOR_TLS_KEY_RECORDS)
		return 0;
	t->records = n;
	return 1;
}

static int send_plain(struct wisp_harbor_tls *t, const void *data,
	size_t size)
{
	size_t done;
	if (size == 0)
		return 0;
	/* the KeyUpdate goes out with the write, just before its records */
	if ((!key_worn(t, size)
			|| SSL_key_update(t->ssl, SSL_KEY_UPDATE_NOT_REQUESTED) == 1)
		&& SSL_write_ex(t->ssl, data, size, &done) == 1)
		return 0;
	return check(t, 0, "TLS write") < 0 ? -1
		: fail(t, "TLS write failed: the session cannot write");
}

/* The handshake just ended: the peer must have used the key in PSK mode
 * (a verified certificate is not enough there: no CA is trusted); then
 * what waited goes out. */
static int established(struct wisp_harbor_tls *t)
{
	if (t->psk_mode && !SSL_session_reused(t->ssl))
		return fail(t, "TLS handshake failed: the peer did not use the "
			"link's key");
	OPENSSL_cleanse(t->psk, sizeof(t->psk));
	t->established = 1;
	int rc = send_plain(t, t->pending, t->pending_len);
	wisp_free(t->pending);
	t->pending = NULL;
	t->pending_len = t->pending_cap = 0;
	return rc;
}

static int handshake(struct wisp_harbor_tls *t)
{
	int rc = SSL_do_handshake(t->ssl);
	return rc == 1 ? established(t) : check(t, rc, "TLS handshake");
}

int wisp_harbor_tls_start(struct wisp_harbor_tls *t)
{
	if (t->failed)
		return -1;
	enter(t);
	return leave(t, handshake(t));
}

/* Input left, or bytes OpenSSL holds: a read with neither would only
 * fail with "want more", which costs as much as reading a small record. */
static int more_to_read(struct wisp_harbor_tls *t)
{
	return t->in_left > 0 || SSL_has_pending(t->ssl);
}

/* Reads plaintext until the input is used up, handing it on in chunks.
 * What a failing record would have given is never read; what came
 * before it is handed on, once the failure is noted (plain may clear the
 * thread's error queue). */
static int read_plain(struct wisp_harbor_tls *t)
{
	uint8_t buf[PLAIN_CHUNK];
	int rc = 0;
	while (rc == 0 && !t->freed && more_to_read(t)) {
		size_t got = 0, n;
		int ok = 1;
		while (got < sizeof(buf) && more_to_read(t)
			&& (ok = SSL_read_ex(t->ssl, buf + got, sizeof(buf) - got, &n)))
			got += n;
		if (!ok)
			rc = check(t, 0, "TLS read") < 0 ? -1 : 1;
		if (got && !t->freed)
			t->plain(t->ud, buf, got);
	}
	return rc < 0 ? -1 : 0;
}

int wisp_harbor_tls_input(struct wisp_harbor_tls *t, const void *data,
	size_t size)
{
	if (t->failed || t->freed)
		return -1;
	enter(t);
	t->in = data;
	t->in_left = size;
	int rc = t->established ? 0 : handshake(t);
	if (rc == 0 && t->established)
		rc = read_plain(t);
	t->in = NULL;
	t->in_left = 0;
	return leave(t, rc);
}

/* Keeps output for the end of the handshake. */
static void keep(struct wisp_harbor_tls *t, const void *data, size_t size)
{
	if (t->pending_len + size > t->pending_cap) {
		size_t cap = t->pending_cap ? t->pending_cap * 2 : 4096;
		while (cap < t->pending_len + size)
			cap *= 2;
		t->pending = wisp_realloc(t->pending, cap);
		t->pending_cap = cap;
	}
	memcpy(t->pending + t->pending_len, data, size);
	t->pending_len += size;
}

int wisp_harbor_tls_output(struct wisp_harbor_tls *t, const void *data,
	size_t size)
{
	if (t->failed || t->freed)
		return -1;
	if (size == 0)
		return 0;
	if (!t->established) {
		keep(t, data, size);
		return 0;
	}
	enter(t);
	return leave(t, send_plain(t, data, size));
}

int wisp_harbor_tls_established(const struct wisp_harbor_tls *t)
{
	return t->established && !t->failed;
}

const char *wisp_harbor_tls_error(const struct wisp_harbor_tls *t)
{
	return t->error;
}
