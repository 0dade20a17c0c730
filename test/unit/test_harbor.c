/* test_harbor.c: the harbor codec: round trips of every frame kind, the
 * exact bytes HARBOR.md gives, streams split anywhere, compression, the
 * refusal of each malformed frame with its reason, and the handshake's
 * key exchange. */
#include <stdint.h>
#include <stdlib.h>
#include "testlib.h"
#include "harbor.h"
#include "harbor_pake.h"
#include "wisp.h"

#define LIMIT (16u << 20)
#define MAX_FRAMES 2000

static struct wisp_harbor_frame decoded[MAX_FRAMES];

static void free_frames(int n)
{
	for (int i = 0; i < n; i++)
		if (decoded[i].kind == WISP_HARBOR_MSG)
			wisp_free(decoded[i].msg.payload);
}

/* Feeds data in pieces of chunk bytes; decoded[] gets the frames. Returns
 * their count, or -1 on an error, whose reason is copied to why. */
static int decode_chunks(const void *data, size_t n, size_t chunk,
	char *why)
{
	struct wisp_harbor_decoder d;
	wisp_harbor_decoder_init(&d, LIMIT);
	const unsigned char *p = data;
	int count = 0, r = WISP_HARBOR_MORE;
	for (size_t at = 0; at < n && r != WISP_HARBOR_ERROR; ) {
		size_t piece = n - at < chunk ? n - at : chunk, used;
		while ((r = wisp_harbor_decode(&d, p + at, piece, &used,
				&decoded[count])) == WISP_HARBOR_FRAME) {
			at += used;
			piece -= used;
			count++;
		}
		at += used;
	}
	if (r == WISP_HARBOR_ERROR && why)
		strcpy(why, d.error);
	wisp_harbor_decoder_free(&d);
	if (r == WISP_HARBOR_ERROR) {
		free_frames(count);
		return -1;
	}
	return count;
}

static int same_msg(const struct wisp_harbor_msg *a,
	const struct wisp_harbor_msg *b)
{
	return a->dest == b->dest && a->source == b->source
		&& a->session == b->session && a->type == b->type
		&& a->trace == b->trace
		&& strcmp(a->name, b->name) == 0 && a->size == b->size
		&& (a->size == 0 || memcmp(a->payload, b->payload, a->size) == 0);
}

static int same_frame(const struct wisp_harbor_frame *a,
	const struct wisp_harbor_frame *b)
{
	if (a->kind != b->kind)
		return 0;
	switch (a->kind) {
	case WISP_HARBOR_MSG:
		return same_msg(&a->msg, &b->msg);
	case WISP_HARBOR_PING:
	case WISP_HARBOR_PONG:
		return a->token == b->token;
	case WISP_HARBOR_HELLO:
		return a->hello.version == b->hello.version
			&& a->hello.node == b->hello.node
			&& strcmp(a->hello.name, b->hello.name) == 0
			&& memcmp(a->hello.share, b->hello.share, WISP_HARBOR_SHARE_SIZE) == 0;
	default:
		return memcmp(a->proof, b->proof, WISP_HARBOR_PROOF_SIZE) == 0;
	}
}

static struct wisp_harbor_frame msg_to(wisp_handle dest, const char *name,
	const void *payload, size_t size)
{
	struct wisp_harbor_frame f = {.kind = WISP_HARBOR_MSG};
	f.msg.dest = dest;
	f.msg.source = (2u << WISP_LOCAL_BITS) | 77;
	f.msg.session = -123456;
	f.msg.type = WISP_MSG_LUA;
	strcpy(f.msg.name, name);
	f.msg.payload = (void *)payload;
	f.msg.size = size;
	return f;
}

static struct wisp_harbor_frame hello(uint16_t node, const char *name,
	uint8_t share_seed)
{
	struct wisp_harbor_frame f = {.kind = WISP_HARBOR_HELLO};
	f.hello.version = WISP_HARBOR_VERSION;
	f.hello.node = node;
	strcpy(f.hello.name, name);
	for (int i = 0; i < WISP_HARBOR_SHARE_SIZE; i++)
		f.hello.share[i] = (uint8_t)(share_seed + 31 * i);
	return f;
}

/* One frame of every kind, with names, empty and compressed payloads. */
enum { SAMPLES = 9 };
static char big_text[5000];

static void samples(struct wisp_harbor_frame f[SAMPLES])
{
	for (size_t i = 0; i < sizeof(big_text); i++)
		big_text[i] = "wisp harbor "[i % 12];
	f[0] = msg_to(0x00400001, "", "hello", 5);
	f[1] = msg_to(0, "chat", "by name", 7);
	f[1].msg.trace = 0x0123456789abcdefull;
	f[2] = msg_to(0xffffffff, "", NULL, 0);
	f[3] = msg_to(0, "a.b-C_9", big_text, sizeof(big_text));
	f[3].msg.trace = UINT64_MAX; /* compressed, named and traced */
	f[4] = (struct wisp_harbor_frame){.kind = WISP_HARBOR_PING, .token = 0x0102030405060708ull};
	f[5] = (struct wisp_harbor_frame){.kind = WISP_HARBOR_PONG, .token = UINT64_MAX};
	f[6] = hello(1, "game1", 9);
	f[7] = hello(WISP_MAX_NODE, "n", 200);
	f[8] = (struct wisp_harbor_frame){.kind = WISP_HARBOR_PROOF};
	for (int i = 0; i < WISP_HARBOR_PROOF_SIZE; i++)
		f[8].proof[i] = (uint8_t)(255 - i);
}

static void encode_samples(struct wisp_harbor_encoder *e,
	struct wisp_harbor_frame f[SAMPLES])
{
	samples(f);
	wisp_harbor_encoder_init(e, LIMIT, 1024);
	for (int i = 0; i < SAMPLES; i++)
		CHECK_INT(wisp_harbor_encode(e, &f[i]), 0);
}

static void test_round_trip(void)
{
	struct wisp_harbor_frame f[SAMPLES];
	struct wisp_harbor_encoder e;
	encode_samples(&e, f);
	CHECK(e.len < sizeof(big_text)); /* the 5000-byte text went compressed */
	int n = decode_chunks(e.data, e.len, e.len, NULL);
	CHECK_INT(n, SAMPLES);
	for (int i = 0; i < n && i < SAMPLES; i++)
		CHECK(same_frame(&f[i], &decoded[i]));
	CHECK(decoded[2].msg.payload == NULL);
	free_frames(n);
	wisp_harbor_encoder_free(&e);
}

static int encodes_to(const struct wisp_harbor_frame *f, const char *want,
	size_t n)
{
	struct wisp_harbor_encoder e;
	wisp_harbor_encoder_init(&e, LIMIT, 0);
	int ok = wisp_harbor_encode(&e, f) == 0 && e.len == n
		&& memcmp(e.data, want, n) == 0;
	if (!ok) {
		fprintf(stderr, "encoded as");
		for (size_t i = 0; i < e.len; i++)
			fprintf(stderr, " %02x", e.data[i]);
		fprintf(stderr, "\n");
	}
	wisp_harbor_encoder_free(&e);
	return ok;
}

/* The examples of HARBOR.md, byte for byte. */
static void test_exact_bytes(void)
{
	struct wisp_harbor_frame f = {.kind = WISP_HARBOR_MSG};
	f.msg = (struct wisp_harbor_msg){.dest = 0x00400001, .source = 0x00800002,
		.session = 7, .type = WISP_MSG_TEXT, .payload = "hi", .size = 2};
	CHECK(encodes_to(&f, "\x11\0\0\0" "\x01" "\x01\0\x40\0" "\x02\0\x80\0"
		"\x07\0\0\0" "\x00" "\x00" "hi", 21));
	f.msg.dest = 0;
	f.msg.session = -1;
	strcpy(f.msg.name, "chat");
	CHECK(encodes_to(&f, "\x16\0\0\0" "\x01" "\0\0\0\0" "\x02\0\x80\0"
		"\xff\xff\xff\xff" "\x00" "\x02" "\x04" "chat" "hi", 26));
	f.msg.dest = 0x00400001;
	f.msg.session = 7;
	f.msg.name[0] = '\0';
	f.msg.trace = 0x0123456789abcdefull;
	CHECK(encodes_to(&f, "\x19\0\0\0" "\x01" "\x01\0\x40\0" "\x02\0\x80\0"
		"\x07\0\0\0" "\x00" "\x04" "\xef\xcd\xab\x89\x67\x45\x23\x01" "hi",
		29));
	f = (struct wisp_harbor_frame){.kind = WISP_HARBOR_PING, .token = 0x2a};
	CHECK(encodes_to(&f, "\x09\0\0\0" "\x02" "\x2a\0\0\0\0\0\0\0", 13));
	f = hello(3, "db", 0);
	memset(f.hello.share, 0xab, WISP_HARBOR_SHARE_SIZE);
	char want[4 + 1 + 4 + WISP_HARBOR_SHARE_SIZE + 3];
	memcpy(want, "\x49\0\0\0" "\x04" "\x03\0" "\x03\0", 9);
	memset(want + 9, 0xab, WISP_HARBOR_SHARE_SIZE);
	memcpy(want + 9 + WISP_HARBOR_SHARE_SIZE, "\x02" "db", 3);
	CHECK(encodes_to(&f, want, sizeof(want)));
}

/* The sample stream split in two at every byte, and fed byte by byte. */
static void test_split_everywhere(void)
{
	struct wisp_harbor_frame f[SAMPLES];
	struct wisp_harbor_encoder e;
	encode_samples(&e, f);
	struct wisp_harbor_decoder d;
	for (size_t cut = 0; cut <= e.len; cut++) {
		wisp_harbor_decoder_init(&d, LIMIT);
		int n = 0;
		size_t used;
		const unsigned char *p = e.data;
		size_t left = cut;
		for (int part = 0; part < 2; part++) {
			while (wisp_harbor_decode(&d, p, left, &used, &decoded[n])
					== WISP_HARBOR_FRAME) {
				p += used;
				left -= used;
				n++;
			}
			CHECK_INT(used, left);
			p += used;
			left = e.len - cut;
		}
		CHECK_INT(n, SAMPLES);
		for (int i = 0; i < n && i < SAMPLES; i++)
			CHECK(same_frame(&f[i], &decoded[i]));
		free_frames(n);
		wisp_harbor_decoder_free(&d);
	}
	int n = decode_chunks(e.data, e.len, 1, NULL);
	CHECK_INT(n, SAMPLES);
	for (int i = 0; i < n && i < SAMPLES; i++)
		CHECK(same_frame(&f[i], &decoded[i]));
	free_frames(n);
	wisp_harbor_encoder_free(&e);
}

static void test_many_frames_one_feed(void)
{
	struct wisp_harbor_encoder e;
	wisp_harbor_encoder_init(&e, LIMIT, 64);
	char text[100];
	for (int i = 0; i < MAX_FRAMES; i++) {
		int len = snprintf(text, sizeof(text), "message %d", i);
		struct wisp_harbor_frame f = msg_to(0x00400000u + (unsigned)i, "",
			text, (size_t)len);
		f.msg.session = i;
		CHECK_INT(wisp_harbor_encode(&e, &f), 0);
	}
	int n = decode_chunks(e.data, e.len, e.len, NULL);
	CHECK_INT(n, MAX_FRAMES);
	for (int i = 0; i < n; i++) {
		int len = snprintf(text, sizeof(text), "message %d", i);
		CHECK_INT(decoded[i].msg.session, i);
		CHECK(decoded[i].msg.size == (size_t)len
			&& memcmp(decoded[i].msg.payload, text, (size_t)len) == 0);
	}
	free_frames(n);
	wisp_harbor_encoder_free(&e);
}

static uint64_t rng_state = 88172645463325252ull;

static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* Flags sit 18 bytes into a frame without a name: prefix, kind, 3 fields. */
#define FLAGS_AT 18

static void test_big_compressed(void)
{
	size_t size = 10u << 20;
	char *big = wisp_malloc(size);
	for (size_t i = 0; i < size; i++)
		big[i] = (char)(i % 251 < 200 ? 'a' + (i / 4096) % 26 : (int)(rng() & 0xff));
	struct wisp_harbor_encoder e;
	wisp_harbor_encoder_init(&e, LIMIT, 4096);
	struct wisp_harbor_frame f = msg_to(0x00400009, "", big, size);
	CHECK_INT(wisp_harbor_encode(&e, &f), 0);
	CHECK(e.len < size / 2);
	CHECK_INT(e.data[FLAGS_AT], 0x01);
	CHECK_INT(decode_chunks(e.data, e.len, 65536, NULL), 1);
	CHECK(same_frame(&f, &decoded[0]));
	free_frames(1);
	wisp_harbor_encoder_free(&e);
	wisp_free(big);
}

static void test_incompressible_raw(void)
{
	unsigned char noise[4096];
	for (size_t i = 0; i < sizeof(noise); i++)
		noise[i] = (unsigned char)rng();
	struct wisp_harbor_encoder e;
	wisp_harbor_encoder_init(&e, LIMIT, 100);
	struct wisp_harbor_frame f = msg_to(0x00400009, "", noise, sizeof(noise));
	CHECK_INT(wisp_harbor_encode(&e, &f), 0);
	CHECK_INT(e.len, 4 + 1 + 14 + sizeof(noise));
	CHECK_INT(e.data[FLAGS_AT], 0);
	CHECK_INT(decode_chunks(e.data, e.len, e.len, NULL), 1);
	CHECK(same_frame(&f, &decoded[0]));
	free_frames(1);
	wisp_harbor_encoder_free(&e);
}

/* Every proper prefix of every sample frame asks for more, uses it all
 * and yields nothing. */
static void test_truncations(void)
{
	struct wisp_harbor_frame f[SAMPLES], out;
	for (int i = 0; i < SAMPLES; i++) {
		struct wisp_harbor_encoder e;
		samples(f);
		wisp_harbor_encoder_init(&e, LIMIT, 1024);
		CHECK_INT(wisp_harbor_encode(&e, &f[i]), 0);
		for (size_t cut = 0; cut < e.len; cut++) {
			struct wisp_harbor_decoder d;
			size_t used;
			wisp_harbor_decoder_init(&d, LIMIT);
			CHECK_INT(wisp_harbor_decode(&d, e.data, cut, &used, &out),
				WISP_HARBOR_MORE);
			CHECK_INT(used, cut);
			wisp_harbor_decoder_free(&d);
		}
		wisp_harbor_encoder_free(&e);
	}
}

/* A frame of length n (counting the kind) with the given body. */
static size_t frame(unsigned char *out, int kind, const void *body, size_t n)
{
	out[0] = (unsigned char)(n + 1);
	out[1] = (unsigned char)((n + 1) >> 8);
	out[2] = out[3] = 0;
	out[4] = (unsigned char)kind;
	memcpy(out + 5, body, n);
	return n + 5;
}

static void rejects(const void *data, size_t n, const char *reason)
{
	char why[128] = "";
	CHECK_INT(decode_chunks(data, n, n, why), -1);
	CHECK_STR(why, reason);
}

/* A message header to handle 0x00400001 with the given flags. */
static size_t msg_head(unsigned char *b, int flags)
{
	memcpy(b, "\x01\0\x40\0" "\x02\0\x80\0" "\x07\0\0\0" "\x00", 13);
	b[13] = (unsigned char)flags;
	return 14;
}

static void test_bad_framing(void)
{
	rejects("\xff\xe0\xf5\x05", 4,
		"frame of 99999999 bytes exceeds the limit of 16777216");
	rejects("\0\0\0\0", 4, "frame of 0 bytes, without even a kind");
	unsigned char b[512];
	rejects(b, frame(b, 0x09, "", 0), "unknown frame kind 0x09");
	rejects(b, frame(b, 0, "", 0), "unknown frame kind 0x00");
	rejects(b, frame(b, WISP_HARBOR_PING, "1234567", 7),
		"ping frame with a 7-byte body, want 8");
	rejects(b, frame(b, WISP_HARBOR_PONG, "123456789", 9),
		"pong frame with a 9-byte body, want 8");
	static const unsigned char zeros[31];
	rejects(b, frame(b, WISP_HARBOR_PROOF, zeros, 31),
		"proof frame with a 31-byte body, want 32");
}

static void test_bad_messages(void)
{
	unsigned char body[300], b[310];
	size_t n = msg_head(body, 0);
	rejects(b, frame(b, WISP_HARBOR_MSG, body, 13),
		"message frame with a 13-byte body, shorter than its 14-byte header");
	n = msg_head(body, 0x08);
	rejects(b, frame(b, WISP_HARBOR_MSG, body, n),
		"message with unknown flags 0x08");
	n = msg_head(body, 0x04);
	rejects(b, frame(b, WISP_HARBOR_MSG, body, n + 7),
		"message frame ends inside its trace");
	memset(body + n, 0, 8);
	rejects(b, frame(b, WISP_HARBOR_MSG, body, n + 8),
		"message flagged traced with trace 0");
	n = msg_head(body, 0);
	memset(body, 0, 4);
	rejects(b, frame(b, WISP_HARBOR_MSG, body, n), "message to handle 0");
	n = msg_head(body, 0x02);
	memset(body, 0, 4);
	body[n++] = 10;
	memcpy(body + n, "chat@game1", 10);
	rejects(b, frame(b, WISP_HARBOR_MSG, body, n + 10),
		"destination name has the byte 0x40 at 4, outside [A-Za-z0-9_.-]");
	rejects(b, frame(b, WISP_HARBOR_MSG, body, n + 9),
		"message frame ends inside its destination name");
	body[n - 1] = 64;
	memset(body + n, 'x', 64);
	rejects(b, frame(b, WISP_HARBOR_MSG, body, n + 64),
		"destination name of 64 bytes; names have 1 to 63");
	body[n - 1] = 0;
	rejects(b, frame(b, WISP_HARBOR_MSG, body, n),
		"destination name of 0 bytes; names have 1 to 63");
	n = msg_head(body, 0x02);
	memcpy(body + n, "\x04" "chat", 5);
	rejects(b, frame(b, WISP_HARBOR_MSG, body, n + 5),
		"message to name chat also gives handle 00400001");
	n = msg_head(body, 0x01);
	rejects(b, frame(b, WISP_HARBOR_MSG, body, n + 3),
		"message frame ends inside its original size");
}

/* An encoded compressed frame whose original size is then forged. */
static void test_lying_original_size(void)
{
	char text[2000];
	for (size_t i = 0; i < sizeof(text); i++)
		text[i] = "0123456789"[i % 10];
	struct wisp_harbor_encoder e;
	wisp_harbor_encoder_init(&e, LIMIT, 1);
	struct wisp_harbor_frame f = msg_to(0x00400001, "", text, sizeof(text));
	CHECK_INT(wisp_harbor_encode(&e, &f), 0);
	CHECK_INT(e.data[FLAGS_AT], 0x01);
	unsigned char *orig = e.data + FLAGS_AT + 1;
	orig[0]++;
	rejects(e.data, e.len,
		"compressed payload says 2001 bytes, its zstd frame holds 2000");
	memcpy(orig, "\x01\0\0\x01", 4);
	rejects(e.data, e.len,
		"compressed payload of 16777217 bytes, outside 1..16777216");
	memset(orig, 0, 4);
	rejects(e.data, e.len, "compressed payload of 0 bytes, outside 1..16777216");
	memcpy(orig, "\xd0\x07\0\0", 4); /* 2000 again */
	CHECK_INT(decode_chunks(e.data, e.len, e.len, NULL), 1);
	free_frames(1);
	wisp_harbor_encoder_free(&e);
}

/* A compressed message to 0x00400001 of 5 original bytes carrying z. */
static size_t zmsg(unsigned char *b, const char *z, size_t n)
{
	unsigned char body[100];
	size_t head = msg_head(body, 0x01);
	memcpy(body + head, "\x05\0\0\0", 4);
	memcpy(body + head + 4, z, n);
	return frame(b, WISP_HARBOR_MSG, body, head + 4 + n);
}

/* zstd frames made by hand (RFC 8878): magic, a descriptor, then one
 * block whose 3-byte header packs last-block, type and size. */
#define ZMAGIC "\x28\xb5\x2f\xfd"
#define ZSIZED "\x20\x05"      /* single segment; content size 5 */
#define ZRAW5 "\x29\0\0" "hello" /* last, raw, 5 bytes */

static void test_bad_zstd(void)
{
	unsigned char b[100];
	CHECK_INT(decode_chunks(b, zmsg(b, ZMAGIC ZSIZED ZRAW5, 14), 100, NULL), 1);
	CHECK(decoded[0].msg.size == 5 && memcmp(decoded[0].msg.payload, "hello", 5) == 0);
	free_frames(1);
	char why[128] = "";
	/* a compressed block whose content is nonsense */
	CHECK_INT(decode_chunks(b, zmsg(b, ZMAGIC ZSIZED "\x2d\0\0" "hello", 14),
		100, why), -1);
	CHECK(strncmp(why, "compressed payload does not decompress: ", 40) == 0);
	static const char *not_one[] = {
		ZMAGIC ZSIZED ZRAW5 "!",        /* bytes after the frame */
		ZMAGIC ZSIZED "\x29\0\0" "hell", /* the block is cut short */
		ZMAGIC "\x00\x00" ZRAW5,        /* no content size */
		"garbage! garbage",
	};
	static const size_t len[] = {15, 13, 14, 16};
	for (int i = 0; i < 4; i++)
		rejects(b, zmsg(b, not_one[i], len[i]),
			"compressed payload is not one zstd frame of known size");
}

static void test_bad_hellos(void)
{
	unsigned char body[100], b[110];
	struct wisp_harbor_encoder e;
	wisp_harbor_encoder_init(&e, LIMIT, 0);
	struct wisp_harbor_frame f = hello(5, "game5", 1);
	CHECK_INT(wisp_harbor_encode(&e, &f), 0);
	size_t n = e.len - 5;
	memcpy(body, e.data + 5, n);
	wisp_harbor_encoder_free(&e);
	rejects(b, frame(b, WISP_HARBOR_HELLO, body, n - 1),
		"hello frame with a 74-byte body, want 75");
	rejects(b, frame(b, WISP_HARBOR_HELLO, body, 69),
		"hello frame with a 69-byte body, want 70");
	body[2] = 0;
	rejects(b, frame(b, WISP_HARBOR_HELLO, body, n),
		"hello from node id 0, outside 1..1023");
	body[3] = 4;
	rejects(b, frame(b, WISP_HARBOR_HELLO, body, n),
		"hello from node id 1024, outside 1..1023");
	body[2] = 5, body[3] = 0;
	body[n - 2] = ' ';
	rejects(b, frame(b, WISP_HARBOR_HELLO, body, n),
		"node name has the byte 0x20 at 3, outside [A-Za-z0-9_.-]");
	body[69] = 0;
	rejects(b, frame(b, WISP_HARBOR_HELLO, body, 70),
		"node name of 0 bytes; names have 1 to 63");
}

/* Once failed, a decoder refuses even good frames. */
static void test_error_sticks(void)
{
	struct wisp_harbor_decoder d;
	struct wisp_harbor_frame f;
	size_t used;
	wisp_harbor_decoder_init(&d, 1000);
	CHECK_INT(wisp_harbor_decode(&d, "\xe9\x03\0\0", 4, &used, &f),
		WISP_HARBOR_ERROR);
	CHECK_STR(d.error, "frame of 1001 bytes exceeds the limit of 1000");
	CHECK_INT(wisp_harbor_decode(&d, "\x09\0\0\0\x02" "12345678", 13, &used, &f),
		WISP_HARBOR_ERROR);
	CHECK_INT(used, 0);
	CHECK_STR(d.error, "frame of 1001 bytes exceeds the limit of 1000");
	wisp_harbor_decoder_free(&d);
}

/* A big frame's buffer grows with the bytes that came, not with the
 * length its prefix claims. */
static void test_no_allocation_on_claims(void)
{
	struct wisp_harbor_decoder d;
	struct wisp_harbor_frame f;
	size_t used;
	unsigned char b[1000] = {0x00, 0x00, 0x00, 0x01, WISP_HARBOR_MSG};
	wisp_harbor_decoder_init(&d, LIMIT);
	CHECK_INT(wisp_harbor_decode(&d, b, sizeof(b), &used, &f), WISP_HARBOR_MORE);
	CHECK(d.cap < 4 * sizeof(b));
	wisp_harbor_decoder_free(&d);
}

static void test_encoder_refuses(void)
{
	struct wisp_harbor_encoder e;
	wisp_harbor_encoder_init(&e, 1000, 0);
	char big[1000] = {0};
	struct wisp_harbor_frame bad[] = {
		msg_to(0, "", "x", 1),
		msg_to(0x00400001, "chat", "x", 1),
		msg_to(0, "chat@game1", "x", 1),
		msg_to(0x00400001, "", big, 1000 - 14),
		hello(0, "game", 1),
		hello(1024, "game", 1),
		hello(1, "no space", 1),
		{.kind = 0},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK_INT(wisp_harbor_encode(&e, &bad[i]), -1);
	memset(bad[4].hello.name, 'x', sizeof(bad[4].hello.name));
	bad[4].hello.node = 1;
	CHECK_INT(wisp_harbor_encode(&e, &bad[4]), -1);
	CHECK_INT(e.len, 0);
	struct wisp_harbor_frame fits = msg_to(0x00400001, "", big, 1000 - 15);
	CHECK_INT(wisp_harbor_encode(&e, &fits), 0);
	CHECK_INT(e.len, 1004);
	wisp_harbor_encoder_free(&e);
}

static const char secret[] = "a cluster secret long enough for the rules";

/* One exchange: each side starts with its secret, both HELLOs carry the
 * shares; the keys each side derives. 0, or -1 if either refused. */
static int exchange(const char *secret_c, const char *secret_a,
	struct wisp_harbor_frame *c, struct wisp_harbor_frame *a,
	struct wisp_harbor_keys *keys_c, struct wisp_harbor_keys *keys_a)
{
	struct wisp_harbor_pake *pc = wisp_harbor_pake_start(secret_c,
		strlen(secret_c), WISP_HARBOR_CONNECTOR, c->hello.share);
	struct wisp_harbor_pake *pa = wisp_harbor_pake_start(secret_a,
		strlen(secret_a), WISP_HARBOR_ACCEPTOR, a->hello.share);
	CHECK(pc && pa);
	int rc = pc && pa
		&& wisp_harbor_pake_finish(pc, &c->hello, &a->hello, keys_c) == 0
		&& wisp_harbor_pake_finish(pa, &c->hello, &a->hello, keys_a) == 0
		? 0 : -1;
	wisp_harbor_pake_free(pc);
	wisp_harbor_pake_free(pa);
	return rc;
}

static int same_keys(const struct wisp_harbor_keys *x,
	const struct wisp_harbor_keys *y)
{
	return wisp_harbor_proof_equal(x->proof_connector, y->proof_connector)
		&& wisp_harbor_proof_equal(x->proof_acceptor, y->proof_acceptor)
		&& memcmp(x->tls_psk, y->tls_psk, sizeof(x->tls_psk)) == 0;
}

static void test_pake_agrees(void)
{
	struct wisp_harbor_frame c = hello(1, "game1", 1), a = hello(2, "root", 2);
	struct wisp_harbor_keys kc, ka, again_c, again_a;
	CHECK_INT(exchange(secret, secret, &c, &a, &kc, &ka), 0);
	CHECK(same_keys(&kc, &ka));
	/* one side's proof cannot be reflected back as the other's */
	CHECK(!wisp_harbor_proof_equal(kc.proof_connector, kc.proof_acceptor));
	/* fresh shares each time: nothing to replay */
	CHECK_INT(exchange(secret, secret, &c, &a, &again_c, &again_a), 0);
	CHECK(same_keys(&again_c, &again_a));
	CHECK(!same_keys(&kc, &again_c));
	for (int i = 0; i < WISP_HARBOR_PROOF_SIZE; i++) {
		uint8_t flipped[WISP_HARBOR_PROOF_SIZE];
		memcpy(flipped, kc.proof_acceptor, sizeof(flipped));
		flipped[i] ^= 0x80;
		CHECK(!wisp_harbor_proof_equal(kc.proof_acceptor, flipped));
	}
}

/* A side with another secret derives other keys: its proof fails. */
static void test_pake_other_secret(void)
{
	struct wisp_harbor_frame c = hello(1, "game1", 1), a = hello(2, "root", 2);
	struct wisp_harbor_keys kc, ka;
	CHECK_INT(exchange("not the cluster's secret, though long enough",
		secret, &c, &a, &kc, &ka), 0);
	CHECK(!wisp_harbor_proof_equal(kc.proof_acceptor, ka.proof_acceptor));
	CHECK(!wisp_harbor_proof_equal(kc.proof_connector, ka.proof_connector));
	CHECK(memcmp(kc.tls_psk, ka.tls_psk, sizeof(kc.tls_psk)) != 0);
}

/* The keys are bound to both HELLOs: a node id or name changed on the
 * way gives other keys on the side that saw the change. */
static void test_pake_binds_hellos(void)
{
	struct wisp_harbor_frame c = hello(1, "game1", 1), a = hello(2, "root", 2);
	struct wisp_harbor_pake *pc = wisp_harbor_pake_start(secret,
		strlen(secret), WISP_HARBOR_CONNECTOR, c.hello.share);
	struct wisp_harbor_pake *pa = wisp_harbor_pake_start(secret,
		strlen(secret), WISP_HARBOR_ACCEPTOR, a.hello.share);
	struct wisp_harbor_keys kc, ka;
	CHECK_INT(wisp_harbor_pake_finish(pc, &c.hello, &a.hello, &kc), 0);
	struct wisp_harbor_frame seen = c;
	seen.hello.node = 3;
	CHECK_INT(wisp_harbor_pake_finish(pa, &seen.hello, &a.hello, &ka), 0);
	CHECK(!wisp_harbor_proof_equal(kc.proof_acceptor, ka.proof_acceptor));
	seen = c;
	strcpy(seen.hello.name, "game9");
	CHECK_INT(wisp_harbor_pake_finish(pa, &seen.hello, &a.hello, &ka), 0);
	CHECK(!wisp_harbor_proof_equal(kc.proof_acceptor, ka.proof_acceptor));
	CHECK_INT(wisp_harbor_pake_finish(pa, &c.hello, &a.hello, &ka), 0);
	CHECK(same_keys(&kc, &ka));
	wisp_harbor_pake_free(pc);
	wisp_harbor_pake_free(pa);
}

/* A share that is not a point of the curve is refused, not used. */
static void test_pake_bad_shares(void)
{
	struct wisp_harbor_frame c = hello(1, "game1", 1), a = hello(2, "root", 2);
	struct wisp_harbor_pake *pa = wisp_harbor_pake_start(secret,
		strlen(secret), WISP_HARBOR_ACCEPTOR, a.hello.share);
	struct wisp_harbor_keys ka;
	memset(c.hello.share, 0, sizeof(c.hello.share));
	CHECK_INT(wisp_harbor_pake_finish(pa, &c.hello, &a.hello, &ka), -1);
	c.hello.share[0] = 0x04; /* uncompressed, but (0, 0) is off the curve */
	CHECK_INT(wisp_harbor_pake_finish(pa, &c.hello, &a.hello, &ka), -1);
	memset(c.hello.share + 1, 0xff, WISP_HARBOR_SHARE_SIZE - 1);
	CHECK_INT(wisp_harbor_pake_finish(pa, &c.hello, &a.hello, &ka), -1);
	wisp_harbor_pake_free(pa);
}

int main(void)
{
	RUN(test_round_trip);
	RUN(test_exact_bytes);
	RUN(test_split_everywhere);
	RUN(test_many_frames_one_feed);
	RUN(test_big_compressed);
	RUN(test_incompressible_raw);
	RUN(test_truncations);
	RUN(test_bad_framing);
	RUN(test_bad_messages);
	RUN(test_lying_original_size);
	RUN(test_bad_zstd);
	RUN(test_bad_hellos);
	RUN(test_error_sticks);
	RUN(test_no_allocation_on_claims);
	RUN(test_encoder_refuses);
	RUN(test_pake_agrees);
	RUN(test_pake_other_secret);
	RUN(test_pake_binds_hellos);
	RUN(test_pake_bad_shares);
	return TEST_END();
}
