/* sha256.h: SHA-256 (FIPS 180-4) and HMAC-SHA256 (RFC 2104), enough for
 * the harbor handshake to prove knowledge of the cluster secret. */
#ifndef WISP_SHA256_H
#define WISP_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define WISP_SHA256_SIZE 32  /* bytes in a digest */
#define WISP_SHA256_BLOCK 64 /* bytes in a compression block */

struct wisp_sha256 {
	uint32_t state[8];
	uint64_t total;          /* bytes hashed so far */
	size_t fill;             /* bytes waiting in block */
	uint8_t block[WISP_SHA256_BLOCK];
};

void wisp_sha256_init(struct wisp_sha256 *s);
void wisp_sha256_update(struct wisp_sha256 *s, const void *data, size_t n);
void wisp_sha256_final(struct wisp_sha256 *s, uint8_t out[WISP_SHA256_SIZE]);
void wisp_sha256(const void *data, size_t n, uint8_t out[WISP_SHA256_SIZE]);

/* HMAC: init with the key (any length), update with the message in as
 * many pieces as convenient, final gives the tag. */
struct wisp_hmac_sha256 {
	struct wisp_sha256 inner, outer;
};

void wisp_hmac_sha256_init(struct wisp_hmac_sha256 *h, const void *key,
	size_t key_len);
void wisp_hmac_sha256_update(struct wisp_hmac_sha256 *h, const void *data,
	size_t n);
void wisp_hmac_sha256_final(struct wisp_hmac_sha256 *h,
	uint8_t out[WISP_SHA256_SIZE]);
void wisp_hmac_sha256(const void *key, size_t key_len, const void *data,
	size_t n, uint8_t out[WISP_SHA256_SIZE]);

#endif
