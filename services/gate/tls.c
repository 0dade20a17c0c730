/* tls.c: the gate's TLS clients (gate.tls), on gate.listen and
 * gate.ws_listen alike: the server context, built from the certificate
 * and key files at start and again on SIGHUP, and each conn's session
 * (the engine the harbor shares, tls/session.c). The ciphertext conn.c
 * reads goes into the session; the plaintext out of it takes the path a
 * plaintext client's bytes take (wisp_gate_plain), unchanged; every write
 * of the gate to a client goes through wisp_gate_write, which encrypts
 * for these. What the gate writes to a client with later (replies,
 * pushes, broadcast slices) is gathered and encrypted at the end of the
 * round (the gate's mail to itself), as the socket layer gathers a
 * plaintext client's writes: one record for all a client gets in a
 * round, not one for each piece (a frame's head and body are two), for
 * a record costs both ends far more than its bytes do. Until its
 * handshake is done a client is known to no service and takes no
 * frames; it has gate.first_frame_timeout to finish it. */
#include <errno.h>
#include <openssl/err.h>
#include <stdio.h>
#include <string.h>
#include "gate_service.h"
#include "socket.h"
#include "tls/session.h"

/* A client's gathered output goes at once past this: a record's most. */
#define GATHER_MAX SSL3_RT_MAX_PLAIN_LENGTH
/* The most a client may send before its handshake is done. A browser's
 * ClientHello takes 2 KB or so (a few more with post-quantum key shares);
 * OpenSSL would buffer one of up to 128 KB, for each of gate.
 * max_connections until gate.first_frame_timeout. */
#define HANDSHAKE_MAX (16 * 1024)

struct gate_tls_server {
	SSL_CTX *ctx;     /* for new clients */
	int *dirty;       /* the conns with output gathered, by id */
	uint32_t dirty_count, dirty_cap;
	int mailed;       /* the gate has mailed itself to flush them */
};

struct gate_tls {
	struct wisp_tls_session *s;
	struct gate *g;
	struct gate_conn *c;
	size_t cipher;   /* read from the socket, not yet given back */
	size_t plain;    /* handed on, not yet consumed */
	size_t shaken;   /* read before the handshake was done */
	uint8_t *out;    /* gathered plaintext, for the round's end */
	size_t out_len, out_cap;
	int write_errno; /* the socket write that failed, in an output call */
	uint8_t open;    /* the handshake is done, services know the conn */
};

/* ---- the context ---- */

/* TLS 1.3 alone (every browser and Node speak it), a server certificate
 * and no client's, no renegotiation, no tickets and no session cache:
 * nothing a client can make grow, and a reconnect costs a full handshake
 * only. Buffers go back while a client is idle. */
static SSL_CTX *server_ctx(void)
{
	SSL_CTX *x = SSL_CTX_new(TLS_server_method());
	if (x == NULL)
		return NULL;
	SSL_CTX_set_options(x, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_TICKET);
	SSL_CTX_set_mode(x, SSL_MODE_RELEASE_BUFFERS);
	SSL_CTX_set_session_cache_mode(x, SSL_SESS_CACHE_OFF);
	if (SSL_CTX_set_min_proto_version(x, TLS1_3_VERSION)
		&& SSL_CTX_set_num_tickets(x, 0))
		return x;
	SSL_CTX_free(x);
	return NULL;
}

/* gate.tls's files into a new context; NULL with err naming the file and
 * what OpenSSL said. */
static SSL_CTX *load_ctx(const struct wisp_gate_settings *s, char *err,
	size_t err_size)
{
	char why[160];
	const char *key = "cert", *file = s->tls_cert;
	ERR_clear_error();
	SSL_CTX *x = server_ctx();
	if (x && SSL_CTX_use_certificate_chain_file(x, file) == 1) {
		key = "key";
		file = s->tls_key;
		if (SSL_CTX_use_PrivateKey_file(x, file, SSL_FILETYPE_PEM) == 1
			&& SSL_CTX_check_private_key(x) == 1)
			return x;
	}
	wisp_tls_error(why, sizeof(why), "out of memory");
	snprintf(err, err_size, "gate.tls.%s: cannot use '%s': %s", key, file,
		why);
	SSL_CTX_free(x);
	return NULL;
}

int wisp_gate_tls_init(struct gate *g)
{
	char err[384];
	if (g->cfg->tls_cert == NULL)
		return 0;
	SSL_CTX *x = load_ctx(g->cfg, err, sizeof(err));
	if (x == NULL)
		return wisp_fail(g->ctx, "%s", err);
	g->tls = wisp_malloc(sizeof(*g->tls));
	memset(g->tls, 0, sizeof(*g->tls));
	g->tls->ctx = x;
	return 0;
}

/* New clients get the new files' certificate; a session holds its
 * context, so those connected keep theirs. */
void wisp_gate_tls_reload(struct gate *g)
{
	char err[384];
	if (g->tls == NULL)
		return;
	SSL_CTX *x = load_ctx(g->cfg, err, sizeof(err));
	if (x == NULL) {
		wisp_log(g->ctx, WISP_LOG_ERROR, "SIGHUP: gate.tls not reloaded, "
			"the old certificate stays: %s", err);
		return;
	}
	SSL_CTX_free(g->tls->ctx);
	g->tls->ctx = x;
	wisp_log(g->ctx, WISP_LOG_INFO, "SIGHUP: gate.tls reloaded from '%s'",
		g->cfg->tls_cert);
}

void wisp_gate_tls_exit(struct gate *g)
{
	if (g->tls == NULL)
		return;
	SSL_CTX_free(g->tls->ctx);
	wisp_free(g->tls->dirty);
	wisp_free(g->tls);
	g->tls = NULL;
}

/* ---- a client ---- */

static void on_write(void *ud, const void *data, size_t size)
{
	struct gate_tls *t = ud;
	if (t->write_errno)
		return;
	/* at the end of the round, with the rest of it: one system call */
	if (wisp_net_write_later(t->c->id, data, size) < 0)
		t->write_errno = errno ? errno : EIO;
}

/* The handshake is done: services hear of the client (a WebSocket one
 * once it has upgraded too), and only broadcasts from now on are its. */
static void opened(struct gate_tls *t)
{
	char text[64];
	t->open = 1;
	t->c->bcast_seq = t->g->bcast_seq;
	if (t->c->ws)
		return;
	snprintf(text, sizeof(text), "tls://%s", t->c->addr);
	wisp_gate_event(t->g, t->c, WISP_GATE_OPEN, text);
}

static void on_plain(void *ud, const void *data, size_t size)
{
	struct gate_tls *t = ud;
	if (!t->open)
		opened(t);
	t->plain += size;
	wisp_gate_plain(t->g, t->c, data, size);
}

int wisp_gate_tls_open(struct gate *g, struct gate_conn *c)
{
	struct gate_tls *t = wisp_malloc(sizeof(*t));
	memset(t, 0, sizeof(*t));
	t->g = g;
	t->c = c;
	t->s = wisp_tls_session_new(g->tls->ctx, 0, 0, on_write, on_plain, t);
	if (t->s == NULL) {
		wisp_free(t);
		return -1;
	}
	c->tls = t;
	return 0;
}

void wisp_gate_tls_free(struct gate_conn *c)
{
	wisp_tls_session_free(c->tls->s); /* waits, if it is mid-call */
	wisp_free(c->tls->out);
	wisp_free(c->tls);
	c->tls = NULL;
}

int wisp_gate_tls_pending(const struct gate_conn *c)
{
	return c->tls && !c->tls->open;
}

/* Garbage, a plaintext client, a failed handshake, one too long or a
 * record that does not authenticate: only this conn goes, logged at most
 * once a second. */
static void close_broken(struct gate *g, struct gate_conn *c,
	const char *what)
{
	char why[300];
	snprintf(why, sizeof(why), "%s", what);
	g->stats.bad_frames++;
	if (wisp_gate_may_warn(g, GATE_WARN_TLS))
		wisp_log(g->ctx, WISP_LOG_WARN, "tls client %s (conn %d) closed: %s",
			c->addr, c->id, why);
	wisp_gate_close(g, c, why);
}

void wisp_gate_tls_data(struct gate *g, struct gate_conn *c,
	const uint8_t *data, size_t size)
{
	struct gate_tls *t = c->tls;
	int id = c->id;
	if (!t->open && (t->shaken += size) > HANDSHAKE_MAX)
		return close_broken(g, c, "a TLS handshake of more than 16384 "
			"bytes from the client");
	t->cipher += size;
	t->write_errno = 0;
	int rc = wisp_tls_session_input(t->s, data, size);
	if ((c = wisp_gate_conn(g, (uint32_t)id)) == NULL)
		return; /* closed by what its plaintext did */
	if (t->write_errno == ENOBUFS) /* its handshake's answer, unread */
		return wisp_gate_slow(g, c);
	if (rc < 0)
		return close_broken(g, c, wisp_tls_session_error(t->s));
	if (!t->open && wisp_tls_session_established(t->s))
		opened(t);
	if (t->plain == 0)
		wisp_gate_consumed(c, 0);
}

/* The socket layer counts the ciphertext it delivered against
 * GATE_READ_AHEAD, but the gate consumes plaintext. A record is never
 * smaller than its plaintext, so giving back n bytes of ciphertext (as
 * far as there are) for each n of plaintext keeps the ciphertext held at
 * least the plaintext held: the bound holds for the plaintext too. The
 * rest (record headers and tags, the handshake, a record not yet whole)
 * goes back once no plaintext is held, so a client is never stalled by
 * bytes that carried none. */
void wisp_gate_consumed(struct gate_conn *c, size_t n)
{
	struct gate_tls *t = c->tls;
	if (t == NULL) {
		wisp_net_consumed(c->id, n);
		return;
	}
	t->plain -= n < t->plain ? n : t->plain;
	size_t back = t->plain == 0 ? t->cipher : n < t->cipher ? n : t->cipher;
	t->cipher -= back;
	if (back)
		wisp_net_consumed(c->id, back);
}

/* ---- output ---- */

/* Plaintext through c's session to its socket: 0, or -1 with errno
 * (ENOBUFS: over gate.output_limit, and the socket layer dropped it). */
static int encrypt(struct gate_tls *t, const void *data, size_t size)
{
	t->write_errno = 0;
	int rc = wisp_tls_session_output(t->s, data, size);
	if (t->write_errno) {
		errno = t->write_errno;
		return -1;
	}
	if (rc < 0)
		errno = EPIPE;
	return rc;
}

/* What c gathered, out now: 0 or -1 as encrypt. */
static int flush(struct gate_tls *t)
{
	uint8_t *out = t->out;
	size_t len = t->out_len;
	if (len == 0)
		return 0;
	t->out = NULL;
	t->out_len = t->out_cap = 0;
	int rc = encrypt(t, out, len);
	int saved = errno; /* ENOBUFS is what callers look for; free may
	                    * change errno (a sanitizer's does) */
	wisp_free(out);
	errno = saved;
	return rc;
}

/* The conns with output gathered come back at the end of the round,
 * when the gate reads its mail to itself; if it cannot mail itself (its
 * mailbox is full), c's goes now. */
static int gathered(struct gate_tls_server *x, struct gate_tls *t)
{
	if (!x->mailed) {
		void *byte = wisp_malloc(1);
		if (wisp_send(t->g->ctx, wisp_self(t->g->ctx), WISP_MSG_TEXT, 0,
				byte, 1) < 0)
			return flush(t);
		x->mailed = 1;
	}
	if (x->dirty_count == x->dirty_cap) {
		x->dirty_cap = x->dirty_cap ? x->dirty_cap * 2 : 64;
		x->dirty = wisp_realloc(x->dirty, x->dirty_cap * sizeof(int));
	}
	x->dirty[x->dirty_count++] = t->c->id;
	return 0;
}

static int gather(struct gate_tls *t, const void *data, size_t size)
{
	size_t had = t->out_len;
	if (had + size > GATHER_MAX)
		return flush(t) < 0 ? -1 : encrypt(t, data, size);
	if (had + size > t->out_cap) {
		t->out_cap = t->out_cap ? t->out_cap * 2 : 256;
		while (t->out_cap < had + size)
			t->out_cap *= 2;
		t->out = wisp_realloc(t->out, t->out_cap);
	}
	memcpy(t->out + had, data, size);
	t->out_len += size;
	return had ? 0 : gathered(t->g->tls, t);
}

void wisp_gate_tls_flush(struct gate *g)
{
	struct gate_tls_server *x = g->tls;
	if (x == NULL)
		return;
	x->mailed = 0;
	for (uint32_t i = 0; i < x->dirty_count; i++) {
		struct gate_conn *c = wisp_gate_conn(g, (uint32_t)x->dirty[i]);
		if (c && c->tls && flush(c->tls) < 0 && errno == ENOBUFS)
			wisp_gate_slow(g, c);
	}
	x->dirty_count = 0;
}

void wisp_gate_tls_flush_conn(struct gate_conn *c)
{
	flush(c->tls); /* c is closing: a failure changes nothing */
}

int wisp_gate_write(struct gate_conn *c, const void *data, size_t size,
	int later)
{
	struct gate_tls *t = c->tls;
	if (t == NULL)
		return later ? wisp_net_write_later(c->id, data, size)
			: wisp_net_write(c->id, data, size);
	if (!t->open)
		return 0; /* nothing is its yet: a broadcast as it connects */
	if (later)
		return gather(t, data, size);
	return flush(t) < 0 ? -1 : encrypt(t, data, size);
}
