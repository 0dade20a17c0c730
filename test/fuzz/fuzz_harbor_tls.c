/* fuzz_harbor_tls.c: libFuzzer target for TLS on harbor links
 * (services/harbor/tls.c). The input is what a peer sends the accepting
 * end of a link in PSK mode, the peer's ciphertext from its first byte.
 * It goes to one server session whole, and to another in pieces of a
 * size its first byte says. Neither may crash, and since the input
 * cannot know the key, neither may finish its handshake or give out any
 * plaintext. The corpus is a real client's first flight. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include "tls.h"

static const uint8_t key[WISP_HARBOR_TLS_PSK_SIZE] = "fuzzing key, 32 bytes long ....";

static _Noreturn void die(const char *what)
{
	fprintf(stderr, "fuzz_harbor_tls: %s\n", what);
	abort();
}

static void sink(void *ud, const void *data, size_t size)
{
	(void)ud, (void)data, (void)size;
}

static void plain(void *ud, const void *data, size_t size)
{
	(void)ud, (void)data, (void)size;
	die("plaintext from a peer without the key");
}

static struct wisp_harbor_tls_ctx *context(void)
{
	static struct wisp_harbor_tls_ctx *x;
	if (x == NULL) {
		struct wisp_harbor_settings s = { .tls_mode = WISP_HARBOR_TLS_PSK };
		char err[256];
		if ((x = wisp_harbor_tls_ctx_new(&s, err, sizeof(err))) == NULL)
			die(err);
	}
	return x;
}

/* A server session fed data in pieces of at most piece bytes. */
static void feed(const uint8_t *data, size_t size, size_t piece)
{
	struct wisp_tls_session *t = wisp_harbor_tls_new(context(), 0, key, "peer",
		sink, plain, NULL);
	if (t == NULL || wisp_tls_session_start(t) != 0)
		die("no session");
	int rc = 0;
	for (size_t at = 0; at < size && rc == 0; at += piece) {
		size_t n = size - at < piece ? size - at : piece;
		rc = wisp_tls_session_input(t, data + at, n);
	}
	if (wisp_tls_session_established(t))
		die("a handshake finished without the key");
	if (rc < 0 && wisp_tls_session_error(t)[0] == '\0')
		die("a failure without a reason");
	wisp_tls_session_output(t, data, size);
	wisp_tls_session_free(t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	feed(data, size, size ? size : 1);
	if (size > 1)
		feed(data, size, 1 + data[0] % (size - 1));
	return 0;
}
