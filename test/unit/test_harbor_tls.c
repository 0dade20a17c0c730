/* test_harbor_tls.c: TLS on harbor links (services/harbor/tls.c), two
 * sessions wired to each other in memory: the PSK handshake and 4 MiB
 * each way in uneven pieces; a wrong key, a certificate from another CA
 * or for another node refused; a flipped byte in a record refused with
 * none of its plaintext given on; output before the handshake sent after
 * it; and the harbor.tls key of the config. Certificates are made at run
 * time by test/tls/make_certs.sh (argv[1]). With --bench, the cost per
 * byte (BENCH tls_encrypt_mb_s) and per small message (tls_message_us). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "harbor_config.h"
#include "testlib.h"
#include "tls.h"
#include "wisp.h"

#define STREAM (4u << 20)

static const char *make_certs;
static char dir[64];        /* the test's temporary directory */
static char one[128], two[128]; /* two cluster CAs' certificates */


/* ---- two ends in memory ---- */

struct buf {
	uint8_t *data;
	size_t len, cap;
};

static void buf_add(struct buf *b, const void *data, size_t size)
{
	if (b->len + size > b->cap) {
		b->cap = (b->len + size) * 2;
		b->data = realloc(b->data, b->cap);
	}
	memcpy(b->data + b->len, data, size);
	b->len += size;
}

struct end {
	struct wisp_tls_session *t;
	struct buf out;  /* ciphertext not yet handed to the other end */
	struct buf got;  /* plaintext received */
	int failed;      /* an input returned -1 */
};

/* What one end needs: its context, its key, whom it expects, and what
 * takes its plaintext (NULL: its got). */
struct side {
	struct wisp_harbor_tls_ctx *x;
	const uint8_t *psk;
	const char *peer;
	void (*plain)(void *ud, const void *data, size_t size);
};

static void on_write(void *ud, const void *data, size_t size)
{
	buf_add(&((struct end *)ud)->out, data, size);
}

static void on_plain(void *ud, const void *data, size_t size)
{
	buf_add(&((struct end *)ud)->got, data, size);
}

static void open_end(struct end *e, int client, struct side s)
{
	memset(e, 0, sizeof(*e));
	e->t = wisp_harbor_tls_new(s.x, client, s.psk, s.peer, on_write,
		s.plain ? s.plain : on_plain, e);
	CHECK(e->t != NULL);
}

static void close_end(struct end *e)
{
	wisp_tls_session_free(e->t);
	free(e->out.data);
	free(e->got.data);
}

/* from's ciphertext into to: in one input, or (uneven) in random pieces
 * that cut records anywhere. Nothing goes to an end that failed. */
static void deliver(struct end *from, struct end *to, int uneven)
{
	size_t at = 0, len = from->out.len;
	while (at < len && !to->failed) {
		size_t n = uneven ? 1 + test_rng() % 20000 : len - at;
		n = n < len - at ? n : len - at;
		if (wisp_tls_session_input(to->t, from->out.data + at, n) < 0)
			to->failed = 1;
		at += n;
	}
	from->out.len = 0;
}

/* Hands ciphertext both ways until none moves. */
static void pump(struct end *a, struct end *b)
{
	for (int round = 0; round < 20 && (a->out.len || b->out.len); round++) {
		deliver(a, b, 0);
		deliver(b, a, 0);
	}
}

/* A client and a server, their handshakes run as far as they go. */
static void connect_pair(struct end *c, struct side cs, struct end *s,
	struct side ss)
{
	open_end(c, 1, cs);
	open_end(s, 0, ss);
	CHECK_INT(wisp_tls_session_start(s->t), 0);
	CHECK_INT(wisp_tls_session_start(c->t), 0);
	CHECK(c->out.len > 0); /* the ClientHello */
	pump(c, s);
}

static int up(const struct end *c, const struct end *s)
{
	return wisp_tls_session_established(c->t)
		&& wisp_tls_session_established(s->t);
}

/* Both ends failed, each saying why. */
static void check_refused(const struct end *c, const struct end *s,
	const char *what)
{
	CHECK(!wisp_tls_session_established(c->t));
	CHECK(!wisp_tls_session_established(s->t));
	CHECK(c->failed && s->failed);
	CHECK(wisp_tls_session_error(c->t)[0] != '\0');
	CHECK(wisp_tls_session_error(s->t)[0] != '\0');
	fprintf(stderr, "%s: client: %s\n  server: %s\n", what,
		wisp_tls_session_error(c->t), wisp_tls_session_error(s->t));
}

/* ---- contexts ---- */

static struct wisp_harbor_tls_ctx *psk_ctx(void)
{
	struct wisp_harbor_settings s = { .tls_mode = WISP_HARBOR_TLS_PSK };
	char err[256];
	struct wisp_harbor_tls_ctx *x = wisp_harbor_tls_ctx_new(&s, err,
		sizeof(err));
	CHECK(x != NULL);
	return x;
}

/* Node's certificate from cert_dir, trusting the CA of ca_dir. */
static struct wisp_harbor_tls_ctx *cert_ctx(const char *cert_dir,
	const char *node, const char *ca_dir)
{
	char cert[192], key[192], ca[192], err[512];
	snprintf(cert, sizeof(cert), "%s/%s.pem", cert_dir, node);
	snprintf(key, sizeof(key), "%s/%s.key", cert_dir, node);
	snprintf(ca, sizeof(ca), "%s/ca.pem", ca_dir);
	struct wisp_harbor_settings s = { .tls_mode = WISP_HARBOR_TLS_CERT,
		.tls_cert = cert, .tls_key = key, .tls_ca = ca };
	struct wisp_harbor_tls_ctx *x = wisp_harbor_tls_ctx_new(&s, err,
		sizeof(err));
	if (x == NULL)
		fprintf(stderr, "cert_ctx: %s\n", err);
	CHECK(x != NULL);
	return x;
}

static const uint8_t key_a[WISP_HARBOR_TLS_PSK_SIZE] = "0123456789abcdef0123456789abcde";
static const uint8_t key_b[WISP_HARBOR_TLS_PSK_SIZE] = "0123456789abcdef0123456789abcdX";

/* ---- PSK ---- */

static uint8_t pattern(size_t i, unsigned seed)
{
	return (uint8_t)((i * 2654435761u + seed) >> 11);
}

/* from writes STREAM bytes in uneven pieces, to gets them in order. */
static void check_stream(const struct end *to, unsigned seed)
{
	CHECK_INT(to->got.len, STREAM);
	size_t bad = 0;
	for (size_t i = 0; i < to->got.len && i < STREAM; i++)
		bad += to->got.data[i] != pattern(i, seed);
	CHECK_INT(bad, 0);
}

/* A piece of the stream from at, of a random size, in one output: its
 * size. */
static size_t write_piece(struct end *e, size_t at, unsigned seed)
{
	static uint8_t piece[70000];
	size_t n = 1 + test_rng() % sizeof(piece);
	n = n < STREAM - at ? n : STREAM - at;
	for (size_t i = 0; i < n; i++)
		piece[i] = pattern(at + i, seed);
	CHECK_INT(wisp_tls_session_output(e->t, piece, n), 0);
	return n;
}

static void test_psk_stream(void)
{
	struct wisp_harbor_tls_ctx *x = psk_ctx();
	struct end c, s;
	connect_pair(&c, (struct side){ x, key_a, "s", NULL }, &s,
		(struct side){ x, key_a, "c", NULL });
	CHECK(up(&c, &s));
	CHECK_STR(wisp_tls_session_error(c.t), "");
	size_t cat = 0, sat = 0;
	while ((cat < STREAM || sat < STREAM) && up(&c, &s)) {
		if (cat < STREAM)
			cat += write_piece(&c, cat, 1);
		if (sat < STREAM)
			sat += write_piece(&s, sat, 2);
		deliver(&c, &s, 1);
		deliver(&s, &c, 1);
	}
	CHECK(!c.failed && !s.failed);
	check_stream(&s, 1);
	check_stream(&c, 2);
	close_end(&c);
	close_end(&s);
	wisp_harbor_tls_ctx_free(x);
}

static void test_psk_mismatch(void)
{
	struct wisp_harbor_tls_ctx *x = psk_ctx();
	struct end c, s;
	connect_pair(&c, (struct side){ x, key_a, "s", NULL }, &s,
		(struct side){ x, key_b, "c", NULL });
	check_refused(&c, &s, "PSK mismatch");
	CHECK_INT(wisp_tls_session_output(c.t, "x", 1), -1);
	close_end(&c);
	close_end(&s);
	wisp_harbor_tls_ctx_free(x);
}

/* A fake acceptor with a certificate instead of the key: the PSK client
 * trusts no CA, so it refuses, and sends nothing. */
static void test_psk_client_refuses_certificate(void)
{
	struct wisp_harbor_tls_ctx *x = psk_ctx();
	struct wisp_harbor_tls_ctx *fake = cert_ctx(one, "b", one);
	struct end c, s;
	connect_pair(&c, (struct side){ x, key_a, "b", NULL }, &s,
		(struct side){ fake, NULL, "a", NULL });
	check_refused(&c, &s, "PSK client, certificate server");
	close_end(&c);
	close_end(&s);
	wisp_harbor_tls_ctx_free(x);
	wisp_harbor_tls_ctx_free(fake);
}

/* Output of both ends before the handshake arrives once it is over. */
static void test_output_before_established(void)
{
	struct wisp_harbor_tls_ctx *x = psk_ctx();
	struct end c, s;
	open_end(&c, 1, (struct side){ x, key_a, "s", NULL });
	open_end(&s, 0, (struct side){ x, key_a, "c", NULL });
	CHECK_INT(wisp_tls_session_output(c.t, "early ", 6), 0);
	CHECK_INT(wisp_tls_session_output(c.t, "from the client", 15), 0);
	CHECK_INT(wisp_tls_session_output(s.t, "early from the server", 21), 0);
	CHECK_INT(c.out.len + s.out.len, 0);
	CHECK_INT(wisp_tls_session_start(c.t), 0);
	pump(&c, &s);
	CHECK(up(&c, &s));
	CHECK_INT(s.got.len, 21);
	CHECK(s.got.len == 21 && memcmp(s.got.data, "early from the client", 21) == 0);
	CHECK(c.got.len == 21 && memcmp(c.got.data, "early from the server", 21) == 0);
	close_end(&c);
	close_end(&s);
	wisp_harbor_tls_ctx_free(x);
}

/* Three records, the second with one byte flipped, in one input: the
 * first is given on, then -1; nothing of the second or third. */
static void test_flipped_byte(void)
{
	struct wisp_harbor_tls_ctx *x = psk_ctx();
	struct end c, s;
	connect_pair(&c, (struct side){ x, key_a, "s", NULL }, &s,
		(struct side){ x, key_a, "c", NULL });
	CHECK(up(&c, &s));
	size_t starts[3];
	const char *words[3] = { "first", "second record", "third" };
	for (int i = 0; i < 3; i++) {
		starts[i] = c.out.len;
		CHECK_INT(wisp_tls_session_output(c.t, words[i], strlen(words[i])), 0);
	}
	CHECK(c.out.len > starts[2] && starts[2] > starts[1] + 10);
	c.out.data[starts[1] + 8] ^= 0x20; /* in the encrypted content */
	CHECK_INT(wisp_tls_session_input(s.t, c.out.data, c.out.len), -1);
	CHECK(s.got.len == 5 && memcmp(s.got.data, "first", 5) == 0);
	CHECK(wisp_tls_session_error(s.t)[0] != '\0');
	fprintf(stderr, "flipped byte: %s\n", wisp_tls_session_error(s.t));
	CHECK(!wisp_tls_session_established(s.t));
	CHECK_INT(wisp_tls_session_input(s.t, "x", 1), -1);
	close_end(&c);
	close_end(&s);
	wisp_harbor_tls_ctx_free(x);
}

/* A plain callback may free its session: the input under way ends
 * there, and nothing more reaches the callbacks. */
static void free_on_plain(void *ud, const void *data, size_t size)
{
	struct end *e = ud;
	(void)data, (void)size;
	wisp_tls_session_free(e->t);
	e->t = NULL;
}

static void test_free_from_callback(void)
{
	struct wisp_harbor_tls_ctx *x = psk_ctx();
	struct end c, s;
	connect_pair(&c, (struct side){ x, key_a, "s", NULL }, &s,
		(struct side){ x, key_a, "c", free_on_plain });
	CHECK(up(&c, &s));
	static uint8_t big[200000]; /* more than one chunk of plaintext */
	CHECK_INT(wisp_tls_session_output(c.t, big, sizeof(big)), 0);
	deliver(&c, &s, 0);
	CHECK(s.t == NULL);
	close_end(&c);
	close_end(&s);
	wisp_harbor_tls_ctx_free(x);
}

/* ---- certificates ---- */

static void test_cert_mutual(void)
{
	struct wisp_harbor_tls_ctx *a = cert_ctx(one, "a", one);
	struct wisp_harbor_tls_ctx *b = cert_ctx(one, "b", one);
	struct end c, s;
	connect_pair(&c, (struct side){ a, NULL, "b", NULL }, &s,
		(struct side){ b, NULL, "a", NULL });
	CHECK(up(&c, &s));
	CHECK_INT(wisp_tls_session_output(c.t, "ping", 4), 0);
	pump(&c, &s);
	CHECK(s.got.len == 4 && memcmp(s.got.data, "ping", 4) == 0);
	CHECK_INT(wisp_tls_session_output(s.t, "pong", 4), 0);
	pump(&c, &s);
	CHECK(c.got.len == 4 && memcmp(c.got.data, "pong", 4) == 0);
	close_end(&c);
	close_end(&s);
	wisp_harbor_tls_ctx_free(a);
	wisp_harbor_tls_ctx_free(b);
}

/* Client and server contexts, refused in the handshake. */
static void check_cert_refused(struct wisp_harbor_tls_ctx *cx,
	const char *c_expects, struct wisp_harbor_tls_ctx *sx,
	const char *s_expects, const char *what)
{
	struct end c, s;
	connect_pair(&c, (struct side){ cx, NULL, c_expects, NULL }, &s,
		(struct side){ sx, NULL, s_expects, NULL });
	/* a TLS 1.3 client is done before the server has checked it: the
	 * server's alert then ends it, on output too */
	wisp_tls_session_output(c.t, "ping", 4);
	pump(&c, &s);
	check_refused(&c, &s, what);
	CHECK_INT(s.got.len, 0);
	close_end(&c);
	close_end(&s);
	wisp_harbor_tls_ctx_free(cx);
	wisp_harbor_tls_ctx_free(sx);
}

static void test_cert_other_ca(void)
{
	/* the server's certificate is of another CA */
	check_cert_refused(cert_ctx(one, "a", one), "b", cert_ctx(two, "b", two),
		"a", "server of another CA");
	/* the client's is */
	check_cert_refused(cert_ctx(two, "a", one), "b", cert_ctx(one, "b", one),
		"a", "client of another CA");
}

static void test_cert_other_name(void)
{
	/* the server's certificate names c, the client dialed b */
	check_cert_refused(cert_ctx(one, "a", one), "b", cert_ctx(one, "c", one),
		"a", "server named c, not b");
	/* the client's names c, the server was told a */
	check_cert_refused(cert_ctx(one, "c", one), "b", cert_ctx(one, "b", one),
		"a", "client named c, not a");
}

static void test_cert_files_named(void)
{
	char bad[192], err[512];
	snprintf(bad, sizeof(bad), "%s/nosuch.pem", one);
	char key[192], ca[192];
	snprintf(key, sizeof(key), "%s/a.key", one);
	snprintf(ca, sizeof(ca), "%s/ca.pem", one);
	struct wisp_harbor_settings s = { .tls_mode = WISP_HARBOR_TLS_CERT,
		.tls_cert = bad, .tls_key = key, .tls_ca = ca };
	CHECK(wisp_harbor_tls_ctx_new(&s, err, sizeof(err)) == NULL);
	CHECK(strstr(err, "harbor.tls.cert") && strstr(err, bad));
	/* a key that is not the certificate's */
	char cert[192];
	snprintf(cert, sizeof(cert), "%s/b.pem", one);
	s.tls_cert = cert;
	CHECK(wisp_harbor_tls_ctx_new(&s, err, sizeof(err)) == NULL);
	CHECK(strstr(err, "harbor.tls.key") && strstr(err, key));
	fprintf(stderr, "mismatched key: %s\n", err);
}

/* ---- harbor.tls in the config ---- */

static char config_path[128];

/* The config with tls (Lua, or NULL: absent) and node b at b_host, read
 * as node a: NULL, or the error. */
static const char *load(const char *tls, const char *b_host,
	struct wisp_config *cfg)
{
	static char err[512];
	char secret[65];
	for (int i = 0; i < 64; i++)
		secret[i] = "0123456789abcdef"[test_rng() % 16];
	secret[64] = '\0';
	FILE *f = fopen(config_path, "w");
	fprintf(f, "return { secret = '%s',\n  harbor = { %s%s },\n"
		"  nodes = { a = { id = 1, harbor = '127.0.0.1:7001' },\n"
		"    b = { id = 2, harbor = '%s:7002' } } }\n", secret,
		tls ? "tls = " : "", tls ? tls : "", b_host);
	fclose(f);
	return wisp_config_load(config_path, "a", cfg, err, sizeof(err)) == 0
		? NULL : err;
}

/* tls gives mode, and TLS (1) or not (0) for b at b_host. */
static void check_mode(const char *tls, const char *b_host, int mode,
	int needed)
{
	struct wisp_config cfg;
	const char *err = load(tls, b_host, &cfg);
	CHECK(err == NULL);
	if (err) {
		fprintf(stderr, "%s\n", err);
		return;
	}
	const struct wisp_harbor_settings *s = wisp_harbor_settings(&cfg);
	char why[256];
	CHECK_INT(s->tls_mode, mode);
	CHECK_INT(wisp_harbor_tls_needed(&cfg, s, why, sizeof(why)), needed);
	CHECK(why[0] != '\0');
	wisp_config_free(&cfg);
}

/* tls refused, the error holding each of words. */
static void check_refused_config(const char *tls, const char *b_host,
	const char *w1, const char *w2)
{
	struct wisp_config cfg;
	const char *err = load(tls, b_host, &cfg);
	CHECK(err != NULL);
	if (err == NULL) {
		wisp_config_free(&cfg);
		return;
	}
	if (!strstr(err, w1) || !strstr(err, w2))
		fprintf(stderr, "error without '%s' or '%s': %s\n", w1, w2, err);
	CHECK(strstr(err, w1) && strstr(err, w2));
}

static void test_config_modes(void)
{
	check_mode(NULL, "127.0.0.2", WISP_HARBOR_TLS_AUTO, 0);
	check_mode(NULL, "localhost", WISP_HARBOR_TLS_AUTO, 0);
	check_mode(NULL, "10.1.2.3", WISP_HARBOR_TLS_AUTO, 1);
	check_mode(NULL, "game.example", WISP_HARBOR_TLS_AUTO, 1);
	check_mode("true", "127.0.0.1", WISP_HARBOR_TLS_PSK, 1);
	check_mode("false", "[::1]", WISP_HARBOR_TLS_OFF, 0);
	check_refused_config("false", "10.1.2.3", "harbor.tls = false",
		"10.1.2.3");
	check_refused_config("1", "127.0.0.1", "'tls' in harbor", "true, false");
}

static void test_config_certificates(void)
{
	char tls[512];
	snprintf(tls, sizeof(tls), "{ cert = '%s/{node}.pem', key = "
		"'%s/{node}.key', ca = '%s/ca.pem' }", one, one, one);
	check_mode(tls, "10.1.2.3", WISP_HARBOR_TLS_CERT, 1);
	struct wisp_config cfg;
	if (load(tls, "10.1.2.3", &cfg) == NULL) {
		const struct wisp_harbor_settings *s = wisp_harbor_settings(&cfg);
		char want[192];
		snprintf(want, sizeof(want), "%s/a.pem", one);
		CHECK_STR(s->tls_cert, want);
		snprintf(want, sizeof(want), "%s/a.key", one);
		CHECK_STR(s->tls_key, want);
		char err[256];
		struct wisp_harbor_tls_ctx *x = wisp_harbor_tls_ctx_new(s, err,
			sizeof(err));
		CHECK(x != NULL);
		wisp_harbor_tls_ctx_free(x);
		wisp_config_free(&cfg);
	}
	snprintf(tls, sizeof(tls), "{ cert = '%s/a.pem', key = '%s/nosuch.key', "
		"ca = '%s/ca.pem' }", one, one, one);
	check_refused_config(tls, "127.0.0.1", "'key' in harbor.tls",
		"nosuch.key");
	snprintf(tls, sizeof(tls), "{ cert = '%s/a.pem', key = '%s/a.key' }",
		one, one);
	check_refused_config(tls, "127.0.0.1", "missing required key 'ca'",
		"harbor.tls");
	snprintf(tls, sizeof(tls), "{ cert = '%s/a.pem', key = '%s/a.key', "
		"ca = '%s/ca.pem', crt = 'x' }", one, one, one);
	check_refused_config(tls, "127.0.0.1", "crt", "harbor.tls");
}

/* ---- the benchmark ---- */

static size_t counted;

static void count_plain(void *ud, const void *data, size_t size)
{
	(void)ud, (void)data;
	counted += size;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* MB/s of 4 KiB writes through a pair: encrypted by one end, handed on
 * 256 KiB at a time as a socket would, decrypted by the other. */
static double bench_round(struct end *c, struct end *s, size_t total)
{
	static uint8_t piece[4096];
	memset(piece, 7, sizeof(piece));
	counted = 0;
	double t0 = now_s();
	for (size_t sent = 0; sent < total; sent += sizeof(piece)) {
		wisp_tls_session_output(c->t, piece, sizeof(piece));
		if (c->out.len >= 256 * 1024)
			deliver(c, s, 0);
	}
	deliver(c, s, 0);
	double dt = now_s() - t0;
	CHECK_INT(counted, total);
	return total / dt / 1e6;
}

/* Microseconds to send one 64-byte message through a pair, written and
 * handed on alone, as a serial call's request and answer are: what TLS
 * adds to each harbor message that is not batched. */
static double bench_message_us(struct end *c, struct end *s, int count)
{
	static uint8_t message[64];
	counted = 0;
	double t0 = now_s();
	for (int i = 0; i < count; i++) {
		wisp_tls_session_output(c->t, message, sizeof(message));
		deliver(c, s, 0);
	}
	double dt = now_s() - t0;
	CHECK_INT(counted, (size_t)count * sizeof(message));
	return dt / count * 1e6;
}

static int bench(void)
{
	struct wisp_harbor_tls_ctx *x = psk_ctx();
	struct end c, s;
	connect_pair(&c, (struct side){ x, key_a, "s", NULL }, &s,
		(struct side){ x, key_a, "c", count_plain });
	CHECK(up(&c, &s));
	double best = 0;
	for (int round = 0; round < 3; round++) {
		double r = bench_round(&c, &s, SANITIZED ? 64u << 20 : 512u << 20);
		best = r > best ? r : best;
	}
	printf("BENCH tls_encrypt_mb_s %.0f MB/s\n", best);
	double least = 1e9;
	for (int round = 0; round < 3; round++) {
		double us = bench_message_us(&c, &s, SANITIZED ? 20000 : 200000);
		least = us < least ? us : least;
	}
	printf("BENCH tls_message_us %.2f us\n", least);
	close_end(&c);
	close_end(&s);
	wisp_harbor_tls_ctx_free(x);
	return TEST_END();
}

/* ---- setup ---- */

static int run(const char *fmt, const char *a, const char *b)
{
	char cmd[512];
	snprintf(cmd, sizeof(cmd), fmt, a, b);
	return system(cmd);
}

static void remove_dir(void)
{
	run("rm -rf '%s'%s", dir, "");
}

static void make_dirs(void)
{
	snprintf(dir, sizeof(dir), "/tmp/wisp-tls-XXXXXX");
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		exit(1);
	}
	atexit(remove_dir);
	snprintf(one, sizeof(one), "%s/one", dir);
	snprintf(two, sizeof(two), "%s/two", dir);
	snprintf(config_path, sizeof(config_path), "%s/config.lua", dir);
	if (run("sh '%s' '%s' a b c", make_certs, one) != 0
		|| run("sh '%s' '%s' a b", make_certs, two) != 0) {
		fprintf(stderr, "%s failed\n", make_certs);
		exit(1);
	}
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s MAKE_CERTS.SH [--bench]\n", argv[0]);
		return 2;
	}
	make_certs = argv[1];
	if (argc > 2 && strcmp(argv[2], "--bench") == 0)
		return bench();
	wisp_config_register(&wisp_harbor_config);
	make_dirs();
	RUN(test_psk_stream);
	RUN(test_psk_mismatch);
	RUN(test_psk_client_refuses_certificate);
	RUN(test_output_before_established);
	RUN(test_flipped_byte);
	RUN(test_free_from_callback);
	RUN(test_cert_mutual);
	RUN(test_cert_other_ca);
	RUN(test_cert_other_name);
	RUN(test_cert_files_named);
	RUN(test_config_modes);
	RUN(test_config_certificates);
	return TEST_END();
}
