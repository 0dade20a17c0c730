/* rss_floor.c: the floor of an idle node's RSS (test_scale --bench). A
 * node must prove every link with the harbor's key exchange, and that is
 * libcrypto's: this process does one exchange, both sides, then idles,
 * so its RSS is what the C library and libcrypto map for that alone
 * (the kernel maps a library's pages in 64 KB runs around each one
 * touched: most of libcrypto, after one exchange). Prints READY, then
 * waits for a signal. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>
#include "harbor_pake.h"

static int exchange(void)
{
	unsigned char secret[32]; /* any secret: both sides hold the same */
	if (getrandom(secret, sizeof(secret), 0) != (ssize_t)sizeof(secret))
		return -1;
	struct wisp_harbor_hello hello[2];
	struct wisp_harbor_pake *side[2];
	struct wisp_harbor_keys keys[2];
	memset(hello, 0, sizeof(hello));
	for (int i = 0; i < 2; i++) {
		side[i] = wisp_harbor_pake_start(secret, sizeof(secret),
			i == 0 ? WISP_HARBOR_CONNECTOR : WISP_HARBOR_ACCEPTOR,
			hello[i].share);
		if (side[i] == NULL)
			return -1;
	}
	int ok = 1;
	for (int i = 0; i < 2; i++) {
		ok &= wisp_harbor_pake_finish(side[i], &hello[0], &hello[1],
			&keys[i]) == 0;
		wisp_harbor_pake_free(side[i]);
	}
	return ok && memcmp(&keys[0], &keys[1], sizeof(keys[0])) == 0 ? 0 : -1;
}

int main(void)
{
	if (exchange() < 0) {
		fprintf(stderr, "rss_floor: the key exchange failed\n");
		return 1;
	}
	printf("READY\n");
	fflush(stdout);
	pause();
	return 0;
}
