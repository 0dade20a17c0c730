/* harbor_proof.c: the harbor handshake's proof of the cluster secret, an
 * HMAC-SHA256 under the secret of the bytes proto/harbor.c lays out. The
 * wire format stays in proto/, which holds no cryptography; this file is
 * where the two meet. */
#include "harbor.h"
#include "sha256.h"

_Static_assert(WISP_HARBOR_PROOF_SIZE == WISP_SHA256_SIZE,
	"a proof is one HMAC-SHA256");

void wisp_harbor_proof(const void *secret, size_t secret_len,
	const struct wisp_harbor_hello *connector,
	const struct wisp_harbor_hello *acceptor, int role,
	uint8_t out[WISP_HARBOR_PROOF_SIZE])
{
	uint8_t input[WISP_HARBOR_PROOF_INPUT_MAX];
	size_t n = wisp_harbor_proof_input(connector, acceptor, role, input);
	wisp_hmac_sha256(secret, secret_len, input, n, out);
}
