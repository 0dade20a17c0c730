/* tls.c: TLS 1.3 on a harbor link (tls.h), with OpenSSL: the context
 * (the PSK or the cluster's certificates) and what a link's session needs
 * of it; the session itself runs in the engine the gate shares
 * (tls/session.c). */
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>
#include "tls.h"
#include "tls/session.h"
#include "wisp.h"

#define ERROR_SIZE 256

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
	int psk;         /* PSK mode, else certificates */
};


/* ---- PSK ---- */

/* A session that carries the connection's key, as OpenSSL takes an
 * external PSK. */
static SSL_SESSION *psk_session(SSL *ssl)
{
	const uint8_t *psk = SSL_get_app_data(ssl); /* the session's secret */
	const SSL_CIPHER *suite = SSL_CIPHER_find(ssl, suite_id);
	SSL_SESSION *s = SSL_SESSION_new();
	if (s && suite && SSL_SESSION_set1_master_key(s, psk,
			WISP_HARBOR_TLS_PSK_SIZE)
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
	wisp_tls_error(why, sizeof(why), "unknown error");
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

/* In PSK mode any certificate is refused: a handshake that did not use
 * the link's key proves nothing (the server has no certificate and the
 * client trusts no CA, so this only makes sure of it). */
static int refuse_certificates(int ok, X509_STORE_CTX *store)
{
	(void)ok;
	X509_STORE_CTX_set_error(store, X509_V_ERR_APPLICATION_VERIFICATION);
	return 0;
}

struct wisp_harbor_tls_ctx *wisp_harbor_tls_ctx_new(
	const struct wisp_harbor_settings *s, char *err, size_t err_size)
{
	ERR_clear_error();
	struct wisp_harbor_tls_ctx *x = wisp_malloc(sizeof(*x));
	x->psk = s->tls_mode != WISP_HARBOR_TLS_CERT;
	x->ssl = base_ctx();
	if (x->ssl == NULL) {
		char why[ERROR_SIZE];
		wisp_tls_error(why, sizeof(why), "out of memory");
		snprintf(err, err_size, "harbor.tls: OpenSSL failed: %s", why);
		wisp_harbor_tls_ctx_free(x);
		return NULL;
	}
	if (x->psk) {
		SSL_CTX_set_verify(x->ssl, SSL_VERIFY_PEER
			| SSL_VERIFY_FAIL_IF_NO_PEER_CERT, refuse_certificates);
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
	wisp_free(x);
}

/* ---- a session ---- */

/* In PSK mode the key rides with the session as its secret (wiped when
 * the handshake ends), where the PSK callbacks find it; in certificate
 * mode the peer's must name its node, checked by the chain's
 * verification (X509_check_host), on both ends. */
struct wisp_tls_session *wisp_harbor_tls_new(struct wisp_harbor_tls_ctx *x,
	int client, const uint8_t *psk, const char *peer_name,
	void (*write)(void *ud, const void *data, size_t size),
	void (*plain)(void *ud, const void *data, size_t size), void *ud)
{
	if (x->psk ? psk == NULL : peer_name == NULL)
		return NULL;
	struct wisp_tls_session *t = wisp_tls_session_new(x->ssl, client,
		x->psk ? WISP_HARBOR_TLS_PSK_SIZE : 0, write, plain, ud);
	if (t == NULL)
		return NULL;
	SSL *ssl = wisp_tls_session_ssl(t);
	if (x->psk) {
		memcpy(wisp_tls_session_secret(t), psk, WISP_HARBOR_TLS_PSK_SIZE);
		SSL_set_app_data(ssl, wisp_tls_session_secret(t));
		return t;
	}
	SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
	if (SSL_set1_host(ssl, peer_name) == 1)
		return t;
	ERR_clear_error();
	wisp_tls_session_free(t);
	return NULL;
}
