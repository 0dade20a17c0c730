/* sha256.c: SHA-256 from FIPS 180-4 section 6.2 and HMAC from RFC 2104.
 * Written for clarity over speed: it hashes a few hundred bytes per harbor
 * handshake, never the message stream. */
#include <string.h>
#include "sha256.h"

static const uint32_t K[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1,
	0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3,
	0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
	0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147,
	0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
	0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
	0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
	0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
	0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static uint32_t rotr(uint32_t x, int n)
{
	return (x >> n) | (x << (32 - n));
}

static uint32_t load_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16
		| (uint32_t)p[2] << 8 | p[3];
}

static void store_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* The message schedule W[0..63] of one 512-bit block (6.2.2 step 1). */
static void schedule(const uint8_t *block, uint32_t w[64])
{
	for (int t = 0; t < 16; t++)
		w[t] = load_be32(block + 4 * t);
	for (int t = 16; t < 64; t++) {
		uint32_t s0 = rotr(w[t - 15], 7) ^ rotr(w[t - 15], 18) ^ (w[t - 15] >> 3);
		uint32_t s1 = rotr(w[t - 2], 17) ^ rotr(w[t - 2], 19) ^ (w[t - 2] >> 10);
		w[t] = w[t - 16] + s0 + w[t - 7] + s1;
	}
}

/* One application of the compression function (6.2.2 steps 2-4). */
static void compress(uint32_t state[8], const uint8_t *block)
{
	uint32_t w[64], v[8];
	schedule(block, w);
	memcpy(v, state, sizeof(v));
	for (int t = 0; t < 64; t++) {
		uint32_t e = v[4], a = v[0];
		uint32_t ch = (e & v[5]) ^ (~e & v[6]);
		uint32_t maj = (a & v[1]) ^ (a & v[2]) ^ (v[1] & v[2]);
		uint32_t t1 = v[7] + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ch
			+ K[t] + w[t];
		uint32_t t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + maj;
		memmove(v + 1, v, 7 * sizeof(v[0]));
		v[4] += t1;
		v[0] = t1 + t2;
	}
	for (int i = 0; i < 8; i++)
		state[i] += v[i];
}

void wisp_sha256_init(struct wisp_sha256 *s)
{
	static const uint32_t initial[8] = {
		0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
		0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
	};
	memcpy(s->state, initial, sizeof(initial));
	s->total = 0;
	s->fill = 0;
}

void wisp_sha256_update(struct wisp_sha256 *s, const void *data, size_t n)
{
	const uint8_t *p = data;
	s->total += n;
	while (n > 0) {
		size_t take = WISP_SHA256_BLOCK - s->fill;
		if (take > n)
			take = n;
		memcpy(s->block + s->fill, p, take);
		s->fill += take;
		p += take;
		n -= take;
		if (s->fill == WISP_SHA256_BLOCK) {
			compress(s->state, s->block);
			s->fill = 0;
		}
	}
}

/* Padding (5.1.1): a 1 bit, zeros up to 56 mod 64, the length in bits. */
void wisp_sha256_final(struct wisp_sha256 *s, uint8_t out[WISP_SHA256_SIZE])
{
	uint64_t bits = s->total * 8;
	uint8_t tail[8];
	static const uint8_t pad[WISP_SHA256_BLOCK] = {0x80};
	wisp_sha256_update(s, pad, 1 + (119 - s->fill % 64) % 64);
	store_be32(tail, (uint32_t)(bits >> 32));
	store_be32(tail + 4, (uint32_t)bits);
	wisp_sha256_update(s, tail, sizeof(tail));
	for (int i = 0; i < 8; i++)
		store_be32(out + 4 * i, s->state[i]);
}

void wisp_sha256(const void *data, size_t n, uint8_t out[WISP_SHA256_SIZE])
{
	struct wisp_sha256 s;
	wisp_sha256_init(&s);
	wisp_sha256_update(&s, data, n);
	wisp_sha256_final(&s, out);
}

/* RFC 2104: H(K ^ opad, H(K ^ ipad, text)), with a key longer than a block
 * replaced by its hash. Both inner and outer states start here, so final
 * needs no key. */
void wisp_hmac_sha256_init(struct wisp_hmac_sha256 *h, const void *key,
	size_t key_len)
{
	uint8_t k[WISP_SHA256_BLOCK] = {0}, ipad[WISP_SHA256_BLOCK],
		opad[WISP_SHA256_BLOCK];
	if (key_len > WISP_SHA256_BLOCK)
		wisp_sha256(key, key_len, k);
	else if (key_len > 0)
		memcpy(k, key, key_len);
	for (int i = 0; i < WISP_SHA256_BLOCK; i++) {
		ipad[i] = k[i] ^ 0x36;
		opad[i] = k[i] ^ 0x5c;
	}
	wisp_sha256_init(&h->inner);
	wisp_sha256_update(&h->inner, ipad, sizeof(ipad));
	wisp_sha256_init(&h->outer);
	wisp_sha256_update(&h->outer, opad, sizeof(opad));
}

void wisp_hmac_sha256_update(struct wisp_hmac_sha256 *h, const void *data,
	size_t n)
{
	wisp_sha256_update(&h->inner, data, n);
}

void wisp_hmac_sha256_final(struct wisp_hmac_sha256 *h,
	uint8_t out[WISP_SHA256_SIZE])
{
	uint8_t inner[WISP_SHA256_SIZE];
	wisp_sha256_final(&h->inner, inner);
	wisp_sha256_update(&h->outer, inner, sizeof(inner));
	wisp_sha256_final(&h->outer, out);
}

void wisp_hmac_sha256(const void *key, size_t key_len, const void *data,
	size_t n, uint8_t out[WISP_SHA256_SIZE])
{
	struct wisp_hmac_sha256 h;
	wisp_hmac_sha256_init(&h, key, key_len);
	wisp_hmac_sha256_update(&h, data, n);
	wisp_hmac_sha256_final(&h, out);
}
