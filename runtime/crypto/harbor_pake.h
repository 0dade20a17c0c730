/* harbor_pake.h: the harbor handshake's key exchange (proto/HARBOR.md,
 * "Handshake"): SPAKE2 over P-256 keyed by the cluster secret. Each side
 * sends one share in its HELLO; both HELLOs and the shared point give the
 * two PROOFs and the key the link's TLS uses as its pre-shared key. A
 * peer without the secret can test one guess per connection it makes or
 * accepts, and nothing it sees lets it test a guess offline. */
#ifndef WISP_HARBOR_PAKE_H
#define WISP_HARBOR_PAKE_H

#include <stddef.h>
#include <stdint.h>
#include "harbor.h"

#define WISP_HARBOR_KEY_SIZE 32

/* What a finished exchange gives both sides, the same on each. */
struct wisp_harbor_keys {
	uint8_t proof_connector[WISP_HARBOR_PROOF_SIZE];
	uint8_t proof_acceptor[WISP_HARBOR_PROOF_SIZE];
	uint8_t tls_psk[WISP_HARBOR_KEY_SIZE]; /* the TLS 1.3 external PSK */
};

struct wisp_harbor_pake;

/* Starts one side's exchange (role: WISP_HARBOR_CONNECTOR or _ACCEPTOR)
 * with a fresh random scalar: share gets what its HELLO carries. NULL
 * only if libcrypto fails (out of memory, no randomness). */
struct wisp_harbor_pake *wisp_harbor_pake_start(const void *secret,
	size_t secret_len, int role, uint8_t share[WISP_HARBOR_SHARE_SIZE]);
/* Both HELLOs in hand (this side's share in its own): fills keys, or -1
 * when the peer's share is not a point of the curve (or is the point at
 * infinity once this side's mask is taken off). */
int wisp_harbor_pake_finish(struct wisp_harbor_pake *p,
	const struct wisp_harbor_hello *connector,
	const struct wisp_harbor_hello *acceptor, struct wisp_harbor_keys *keys);
void wisp_harbor_pake_free(struct wisp_harbor_pake *p);

/* 1 when a and b are equal, in a time that does not depend on where they
 * differ, so a peer cannot guess a proof byte by byte. */
int wisp_harbor_proof_equal(const uint8_t a[WISP_HARBOR_PROOF_SIZE],
	const uint8_t b[WISP_HARBOR_PROOF_SIZE]);

#endif
