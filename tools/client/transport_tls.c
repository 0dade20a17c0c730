/* transport_tls.c: TLS for a client connection (transport.h): OpenSSL
 * right on the non-blocking socket, the server's certificate checked
 * against a CA file or the system's store and against the address
 * connected to. The tools are single-threaded, but the reasons are kept
 * per thread all the same. */
#include <arpa/inet.h>
#include <errno.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include "proto_alloc.h"
#include "transport.h"
#include "wisp_client.h"

struct wisp_tls {
	SSL *ssl;
};

static _Thread_local char reason[256];

/* Points *why at what, followed by OpenSSL's first queued error if any;
 * returns -1. */
static int failed(const char **why, const char *what)
{
	unsigned long e = ERR_get_error();
	const char *lib = ERR_reason_error_string(e);
	if (e != 0 && lib == NULL && ERR_GET_LIB(e) == ERR_LIB_SYS)
		lib = strerror(ERR_GET_REASON(e)); /* a file not there, say */
	if (e != 0)
		snprintf(reason, sizeof reason, "%s: %s", what,
			lib ? lib : "unknown OpenSSL error");
	else
		snprintf(reason, sizeof reason, "%s", what);
	ERR_clear_error();
	*why = reason;
	return -1;
}

struct ssl_ctx_st *wisp_tls_context(const char *ca, int insecure,
	const char **why)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	if (ctx == NULL) {
		failed(why, "cannot make a TLS context");
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	/* an EOF without close_notify is the server closing, as on TCP */
	SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
	/* writes resume from an output buffer that may have moved; idle
	 * connections (a thousand bots) give their buffers back */
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE
		| SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
	SSL_CTX_set_verify(ctx, insecure ? SSL_VERIFY_NONE : SSL_VERIFY_PEER,
		NULL);
	int loaded = insecure ? 1 : ca ? SSL_CTX_load_verify_locations(ctx, ca,
		NULL) : SSL_CTX_set_default_verify_paths(ctx);
	if (loaded != 1) {
		failed(why, ca ? "cannot read the CA file" : "cannot load the "
			"system's CA store");
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

/* The name the certificate must carry: host's address as an IP
 * subjectAltName; a name (never, from the tools) by SNI and DNS name. */
static int expect_host(SSL *ssl, const char *host)
{
	unsigned char addr[sizeof(struct in6_addr)];
	if (inet_pton(AF_INET, host, addr) == 1
		|| inet_pton(AF_INET6, host, addr) == 1)
		return X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host);
	return SSL_set_tlsext_host_name(ssl, host) && SSL_set1_host(ssl, host);
}

struct wisp_tls *wisp_tls_new(struct ssl_ctx_st *ctx, int fd,
	const char *host, const char **why)
{
	SSL *ssl = SSL_new(ctx);
	if (ssl == NULL || !SSL_set_fd(ssl, fd) || !expect_host(ssl, host)) {
		failed(why, "cannot start TLS");
		SSL_free(ssl);
		return NULL;
	}
	SSL_set_connect_state(ssl);
	struct wisp_tls *t = wisp_proto_malloc(sizeof *t);
	t->ssl = ssl;
	return t;
}

void wisp_tls_free(struct wisp_tls *t)
{
	SSL_free(t->ssl);
	wisp_proto_free(t);
}

/* Why the handshake failed: the certificate's fault, said plainly. */
static int handshake_failed(struct wisp_tls *t, const char **why)
{
	long v = SSL_get_verify_result(t->ssl);
	if (v == X509_V_OK)
		return failed(why, "TLS handshake failed");
	ERR_clear_error();
	snprintf(reason, sizeof reason, "TLS handshake failed: the server's "
		"certificate: %s (see --ca, --insecure)",
		X509_verify_cert_error_string(v));
	*why = reason;
	return -1;
}

int wisp_tls_handshake(struct wisp_tls *t, const char **why)
{
	ERR_clear_error();
	int r = SSL_do_handshake(t->ssl);
	if (r == 1)
		return 0;
	switch (SSL_get_error(t->ssl, r)) {
	case SSL_ERROR_WANT_READ:
		return POLLIN;
	case SSL_ERROR_WANT_WRITE:
		return POLLOUT;
	case SSL_ERROR_SYSCALL:
		if (errno != 0) {
			snprintf(reason, sizeof reason, "TLS handshake failed: %s",
				strerror(errno));
			*why = reason;
			return -1;
		}
		return failed(why, "TLS handshake failed: closed by server");
	default:
		return handshake_failed(t, why);
	}
}

/* After a read or write that moved nothing: 0 would block, or -1. */
static ssize_t io_error(struct wisp_tls *t, int r, const char *verb,
	const char **why)
{
	switch (SSL_get_error(t->ssl, r)) {
	case SSL_ERROR_WANT_READ:
	case SSL_ERROR_WANT_WRITE:
		return 0;
	case SSL_ERROR_ZERO_RETURN:
		*why = "closed by server";
		return -1;
	case SSL_ERROR_SYSCALL:
		if (errno == EINTR)
			return 0; /* poll reports it ready again */
		snprintf(reason, sizeof reason, "%s failed: %s", verb,
			errno ? strerror(errno) : "closed by server");
		ERR_clear_error();
		*why = reason;
		return -1;
	default:
		return failed(why, verb[0] == 'r' ? "TLS read failed"
			: "TLS write failed");
	}
}

ssize_t wisp_tls_read(void *ud, void *buf, size_t n, const char **why)
{
	struct wisp_tls *t = ud;
	size_t got;
	ERR_clear_error();
	errno = 0;
	int r = SSL_read_ex(t->ssl, buf, n, &got);
	return r == 1 ? (ssize_t)got : io_error(t, r, "read", why);
}

ssize_t wisp_tls_write(void *ud, const void *buf, size_t n, const char **why)
{
	struct wisp_tls *t = ud;
	size_t put;
	ERR_clear_error();
	errno = 0;
	int r = SSL_write_ex(t->ssl, buf, n, &put);
	return r == 1 ? (ssize_t)put : io_error(t, r, "write", why);
}

size_t wisp_tls_pending(void *ud)
{
	struct wisp_tls *t = ud;
	return (size_t)SSL_pending(t->ssl);
}

struct ssl_ctx_st *wisp_cli_tls_context(const char *ca, int insecure,
	char *why, size_t n)
{
	const char *reason_of = NULL;
	SSL_CTX *ctx = wisp_tls_context(ca, insecure, &reason_of);
	if (ctx == NULL)
		snprintf(why, n, "%s", reason_of);
	return ctx;
}

void wisp_cli_tls_context_free(struct ssl_ctx_st *ctx)
{
	SSL_CTX_free(ctx);
}
