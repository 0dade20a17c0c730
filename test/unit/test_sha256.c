/* test_sha256.c: SHA-256 against the FIPS 180-4 examples and HMAC-SHA256
 * against RFC 4231 test cases 1-4, 6 and 7 (5 tests truncated output,
 * which wisp never uses). */
#include <stdint.h>
#include <string.h>
#include "testlib.h"
#include "sha256.h"

static const char *hex(const uint8_t *b, size_t n)
{
	static char s[2 * 64 + 1];
	for (size_t i = 0; i < n; i++)
		sprintf(s + 2 * i, "%02x", b[i]);
	return s;
}

static const char *sha(const void *data, size_t n)
{
	uint8_t d[WISP_SHA256_SIZE];
	wisp_sha256(data, n, d);
	return hex(d, sizeof(d));
}

static const char *hmac(const void *key, size_t key_len, const void *data,
	size_t n)
{
	uint8_t d[WISP_SHA256_SIZE];
	wisp_hmac_sha256(key, key_len, data, n, d);
	return hex(d, sizeof(d));
}

static void test_fips(void)
{
	CHECK_STR(sha("abc", 3),
		"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	CHECK_STR(sha("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56),
		"248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
	CHECK_STR(sha("", 0),
		"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

/* One million 'a', fed in uneven pieces so block joins are crossed at
 * every offset. */
static void test_million(void)
{
	char a[1000];
	memset(a, 'a', sizeof(a));
	struct wisp_sha256 s;
	wisp_sha256_init(&s);
	size_t left = 1000000, piece = 1;
	while (left > 0) {
		size_t n = piece < left ? piece : left;
		wisp_sha256_update(&s, a, n);
		left -= n;
		piece = piece % 997 + 1;
	}
	uint8_t d[WISP_SHA256_SIZE];
	wisp_sha256_final(&s, d);
	CHECK_STR(hex(d, sizeof(d)),
		"cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

/* Messages of 55, 56 and 64 bytes: the padding's edge cases. */
static void test_padding_edges(void)
{
	char a[64];
	memset(a, 'a', sizeof(a));
	CHECK_STR(sha(a, 55),
		"9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318");
	CHECK_STR(sha(a, 56),
		"b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a");
	CHECK_STR(sha(a, 64),
		"ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb");
}

static void test_rfc4231(void)
{
	uint8_t key[131];
	memset(key, 0x0b, 20);
	CHECK_STR(hmac(key, 20, "Hi There", 8),
		"b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
	CHECK_STR(hmac("Jefe", 4, "what do ya want for nothing?", 28),
		"5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
	uint8_t data[50];
	memset(key, 0xaa, 20);
	memset(data, 0xdd, sizeof(data));
	CHECK_STR(hmac(key, 20, data, sizeof(data)),
		"773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe");
	for (int i = 0; i < 25; i++)
		key[i] = (uint8_t)(i + 1);
	memset(data, 0xcd, sizeof(data));
	CHECK_STR(hmac(key, 25, data, sizeof(data)),
		"82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b");
	memset(key, 0xaa, sizeof(key));
	static const char six[] =
		"Test Using Larger Than Block-Size Key - Hash Key First";
	CHECK_STR(hmac(key, 131, six, strlen(six)),
		"60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
	static const char seven[] =
		"This is a test using a larger than block-size key and a larger "
		"than block-size data. The key needs to be hashed before being "
		"used by the HMAC algorithm.";
	CHECK_STR(hmac(key, 131, seven, strlen(seven)),
		"9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2");
}

/* The incremental HMAC gives the one-shot result however it is fed. */
static void test_hmac_pieces(void)
{
	static const char msg[] = "what do ya want for nothing?";
	struct wisp_hmac_sha256 h;
	wisp_hmac_sha256_init(&h, "Jefe", 4);
	for (size_t i = 0; i < strlen(msg); i += 3)
		wisp_hmac_sha256_update(&h, msg + i, strlen(msg) - i < 3 ? strlen(msg) - i : 3);
	uint8_t d[WISP_SHA256_SIZE];
	wisp_hmac_sha256_final(&h, d);
	CHECK_STR(hex(d, sizeof(d)),
		"5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

int main(void)
{
	RUN(test_fips);
	RUN(test_million);
	RUN(test_padding_edges);
	RUN(test_rfc4231);
	RUN(test_hmac_pieces);
	return TEST_END();
}
