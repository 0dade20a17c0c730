/* harbor_pake.c: SPAKE2 over P-256 for the harbor handshake, on
 * libcrypto's curve arithmetic, hashes and HKDF. proto/HARBOR.md
 * ("Handshake") is the specification; test/security/harbor_peer.py holds a
 * second implementation that checks this one against it.
 *
 * Why SPAKE2 and not an HMAC of the secret: whichever side sends such an
 * HMAC first hands a peer that is not in the cluster a value to test
 * dictionary guesses against offline. Here each share is a random point
 * masked by the secret, and what a side proves is keyed by the exchange's
 * result, which only a side that knew the secret when it sent its share
 * can compute: one guess per connection, and no more. */
#include <string.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/obj_mac.h>
#include "harbor_pake.h"

#define SCALAR_SIZE 32 /* bytes in a P-256 scalar */

struct wisp_harbor_pake {
	int role;
	BIGNUM *scalar; /* this side's random x (or y) */
	BIGNUM *w;      /* the secret as a scalar */
};

/* The curve, its two fixed points M and N and HKDF: made on first use
 * and kept for the life of the process (one thread runs a node). */
static EC_GROUP *curve;
static EC_POINT *point_m, *point_n;
static EVP_KDF *hkdf;

static int sha(const EVP_MD *md, const void *a, size_t an, const void *b,
	size_t bn, uint8_t *out)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int ok = ctx && EVP_DigestInit_ex(ctx, md, NULL)
		&& EVP_DigestUpdate(ctx, a, an) && EVP_DigestUpdate(ctx, b, bn)
		&& EVP_DigestFinal_ex(ctx, out, NULL);
	EVP_MD_CTX_free(ctx);
	return ok ? 0 : -1;
}

/* M and N are points nobody knows the discrete log of: the first x of
 * SHA-256(label || counter) that is on the curve, with even y. */
static EC_POINT *point_from_label(const char *label)
{
	EC_POINT *p = EC_POINT_new(curve);
	for (unsigned counter = 0; p && counter < 256; counter++) {
		uint8_t c = (uint8_t)counter, x[1 + 32] = { 0x02 };
		if (sha(EVP_sha256(), label, strlen(label), &c, 1, x + 1) < 0)
			break;
		if (EC_POINT_oct2point(curve, p, x, sizeof(x), NULL) == 1)
			return p;
	}
	EC_POINT_free(p);
	return NULL;
}

static int curve_ready(void)
{
	if (curve)
		return 0;
	curve = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
	point_m = curve ? point_from_label("wisp-harbor SPAKE2 M") : NULL;
	point_n = curve ? point_from_label("wisp-harbor SPAKE2 N") : NULL;
	hkdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
	if (point_m && point_n && hkdf)
		return 0;
	EC_POINT_free(point_m);
	EC_POINT_free(point_n);
	EC_GROUP_free(curve);
	EVP_KDF_free(hkdf);
	curve = NULL;
	hkdf = NULL;
	return -1;
}

/* w = SHA-512("wisp-harbor SPAKE2 w" || secret) mod n: 512 bits reduced
 * to 256 leave no bias worth the name. */
static BIGNUM *secret_scalar(const void *secret, size_t len)
{
	static const char label[] = "wisp-harbor SPAKE2 w";
	uint8_t h[64];
	if (sha(EVP_sha512(), label, sizeof(label) - 1, secret, len, h) < 0)
		return NULL;
	BIGNUM *w = BN_bin2bn(h, sizeof(h), NULL);
	BN_CTX *bc = BN_CTX_new();
	int ok = w && bc && BN_nnmod(w, w, EC_GROUP_get0_order(curve), bc);
	BN_CTX_free(bc);
	OPENSSL_cleanse(h, sizeof(h));
	if (!ok) {
		BN_clear_free(w);
		return NULL;
	}
	return w;
}

static BIGNUM *random_scalar(void)
{
	BIGNUM *x = BN_new();
	const BIGNUM *order = EC_GROUP_get0_order(curve);
	while (x && BN_priv_rand_range(x, order) == 1)
		if (!BN_is_zero(x))
			return x;
	BN_free(x);
	return NULL;
}

static int point_bytes(const EC_POINT *p, uint8_t out[WISP_HARBOR_SHARE_SIZE])
{
	return EC_POINT_point2oct(curve, p, POINT_CONVERSION_UNCOMPRESSED, out,
		WISP_HARBOR_SHARE_SIZE, NULL) == WISP_HARBOR_SHARE_SIZE ? 0 : -1;
}

void wisp_harbor_pake_free(struct wisp_harbor_pake *p)
{
	if (p == NULL)
		return;
	BN_clear_free(p->scalar);
	BN_clear_free(p->w);
	OPENSSL_free(p);
}

/* share = x*G + w*M for the connector, y*G + w*N for the acceptor. */
struct wisp_harbor_pake *wisp_harbor_pake_start(const void *secret,
	size_t secret_len, int role, uint8_t share[WISP_HARBOR_SHARE_SIZE])
{
	if (curve_ready() < 0)
		return NULL;
	struct wisp_harbor_pake *p = OPENSSL_zalloc(sizeof(*p));
	if (p == NULL)
		return NULL;
	p->role = role;
	p->scalar = random_scalar();
	p->w = secret_scalar(secret, secret_len);
	EC_POINT *s = EC_POINT_new(curve);
	const EC_POINT *mask = role == WISP_HARBOR_CONNECTOR ? point_m : point_n;
	int ok = p->scalar && p->w && s
		&& EC_POINT_mul(curve, s, p->scalar, mask, p->w, NULL)
		&& point_bytes(s, share) == 0;
	EC_POINT_free(s);
	if (!ok) {
		wisp_harbor_pake_free(p);
		return NULL;
	}
	return p;
}

/* Z = x * (peer's share - w * peer's mask): the same point on both sides
 * when both used the same w. */
static int shared_point(struct wisp_harbor_pake *p,
	const uint8_t peer_share[WISP_HARBOR_SHARE_SIZE],
	uint8_t out[WISP_HARBOR_SHARE_SIZE])
{
	const EC_POINT *mask = p->role == WISP_HARBOR_CONNECTOR ? point_n : point_m;
	EC_POINT *peer = EC_POINT_new(curve), *unmask = EC_POINT_new(curve);
	BN_CTX *bc = BN_CTX_new();
	/* oct2point refuses a point off the curve */
	int ok = peer && unmask && bc
		&& EC_POINT_oct2point(curve, peer, peer_share,
			WISP_HARBOR_SHARE_SIZE, bc)
		&& EC_POINT_mul(curve, unmask, NULL, mask, p->w, bc)
		&& EC_POINT_invert(curve, unmask, bc)
		&& EC_POINT_add(curve, peer, peer, unmask, bc)
		&& !EC_POINT_is_at_infinity(curve, peer)
		&& EC_POINT_mul(curve, peer, NULL, peer, p->scalar, bc)
		&& !EC_POINT_is_at_infinity(curve, peer)
		&& point_bytes(peer, out) == 0;
	EC_POINT_clear_free(peer);
	EC_POINT_clear_free(unmask);
	BN_CTX_free(bc);
	return ok ? 0 : -1;
}

/* HKDF-SHA256 (RFC 5869), salt "wisp-harbor-2", of the transcript. */
static int derive(const uint8_t *ikm, size_t ikm_len, const char *info,
	uint8_t out[32])
{
	static const char salt[] = "wisp-harbor-2";
	EVP_KDF_CTX *ctx = EVP_KDF_CTX_new(hkdf);
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, "SHA256", 0),
		OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY,
			(void *)ikm, ikm_len),
		OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT,
			(void *)salt, sizeof(salt) - 1),
		OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO,
			(void *)info, strlen(info)),
		OSSL_PARAM_construct_end(),
	};
	int ok = ctx && EVP_KDF_derive(ctx, out, 32, params) == 1;
	EVP_KDF_CTX_free(ctx);
	return ok ? 0 : -1;
}

/* The transcript: both HELLOs as sent (shares, node ids and names), the
 * shared point and w, so that a key is bound to everything both saw. */
#define TRANSCRIPT_MAX (2 * WISP_HARBOR_HELLO_MAX + WISP_HARBOR_SHARE_SIZE \
	+ SCALAR_SIZE)

int wisp_harbor_pake_finish(struct wisp_harbor_pake *p,
	const struct wisp_harbor_hello *connector,
	const struct wisp_harbor_hello *acceptor, struct wisp_harbor_keys *keys)
{
	const struct wisp_harbor_hello *peer =
		p->role == WISP_HARBOR_CONNECTOR ? acceptor : connector;
	uint8_t tt[TRANSCRIPT_MAX];
	size_t n = wisp_harbor_hello_bytes(connector, tt);
	n += wisp_harbor_hello_bytes(acceptor, tt + n);
	int ok = shared_point(p, peer->share, tt + n) == 0
		&& BN_bn2binpad(p->w, tt + n + WISP_HARBOR_SHARE_SIZE,
			SCALAR_SIZE) == SCALAR_SIZE;
	n += WISP_HARBOR_SHARE_SIZE + SCALAR_SIZE;
	ok = ok && derive(tt, n, "proof C", keys->proof_connector) == 0
		&& derive(tt, n, "proof A", keys->proof_acceptor) == 0
		&& derive(tt, n, "tls psk", keys->tls_psk) == 0;
	OPENSSL_cleanse(tt, sizeof(tt));
	if (!ok)
		OPENSSL_cleanse(keys, sizeof(*keys));
	return ok ? 0 : -1;
}

int wisp_harbor_proof_equal(const uint8_t a[WISP_HARBOR_PROOF_SIZE],
	const uint8_t b[WISP_HARBOR_PROOF_SIZE])
{
	return CRYPTO_memcmp(a, b, WISP_HARBOR_PROOF_SIZE) == 0;
}
