/* fuzz_client.c: libFuzzer target for the client frame decoder. Input: a
 * byte choosing max_body, a byte seeding the read sizes, then the stream.
 * Fed whole, the stream must decode exactly as a plain walk over its
 * headers says, every frame in place; fed in reads of varying sizes (each
 * a fresh allocation, freed once drained), it must give the same frames,
 * each in bounds, and end the same way with the same reason; between
 * reads, what it says it has and holds of a partial frame must fit.
 * Before each frame, a peek must name its command (or fail where the
 * decoder fails); each body is also read as a request id and as an error
 * frame's, both within its bounds. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "client.h"
#include "proto_alloc.h"

static struct wisp_client_proto proto = {
	.magic = {'W', 'I', 'S', 'P'},
	.proto_version = 1,
	.server_version = 7,
};

/* How the whole stream decoded: each frame's body offset, and the end. */
struct outcome {
	size_t *body_at;
	size_t count;
	int result;
	char why[WISP_CLIENT_REASON_MAX];
};

static _Noreturn void die(const char *what)
{
	fprintf(stderr, "fuzz_client: %s\n", what);
	abort();
}

static uint32_t be32(const uint8_t *b)
{
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 |
		(uint32_t)b[2] << 8 | b[3];
}

/* CLIENT.md's rules, written plainly: -1 if a field wholly among the have
 * bytes at h is bad, else 0. */
static int header_bad(const uint8_t *h, size_t have)
{
	if (have >= 4 && memcmp(h, proto.magic, 4) != 0)
		return -1;
	if (have >= 5 && h[4] != proto.proto_version)
		return -1;
	if (have >= 9 && be32(h + 5) != proto.server_version)
		return -1;
	if (have >= 13 && (be32(h + 9) < 4 || be32(h + 9) - 4 > proto.max_body))
		return -1;
	return 0;
}

static void decode_whole(const uint8_t *s, size_t n, struct outcome *o)
{
	struct wisp_client_decoder d;
	struct wisp_client_frame f;
	const uint8_t *p = s;
	size_t left = n, at = 0; /* where the walk expects the next header */
	wisp_client_decoder_init(&d, &proto);
	while ((o->result = wisp_client_next(&d, &p, &left, &f)) == 1) {
		if (n - at < WISP_CLIENT_HEADER || header_bad(s + at,
			WISP_CLIENT_HEADER))
			die("whole stream: a frame where the walk sees no header");
		uint32_t body = be32(s + at + 9) - 4;
		if (f.body != s + at + WISP_CLIENT_HEADER || f.size != body ||
			f.command != be32(s + at + 13) ||
			n - at - WISP_CLIENT_HEADER < body)
			die("whole stream: a frame not where its header says");
		o->body_at[o->count++] = at + WISP_CLIENT_HEADER;
		at += WISP_CLIENT_HEADER + body;
	}
	size_t tail = n - at;
	int bad = header_bad(s + at, tail < WISP_CLIENT_HEADER ? tail :
		WISP_CLIENT_HEADER);
	if (o->result != bad || (bad == 0 && (left != 0 ||
		(tail >= WISP_CLIENT_HEADER &&
		tail - WISP_CLIENT_HEADER >= be32(s + at + 9) - 4))))
		die("whole stream: a wrong ending");
	if (bad && wisp_client_reason(&d, o->why, sizeof o->why) == NULL)
		die("failed without a reason");
	wisp_client_decoder_free(&d);
}

static uint32_t rng(uint32_t *state)
{
	*state ^= *state << 13;
	*state ^= *state >> 17;
	*state ^= *state << 5;
	return *state;
}

/* 0 to 40 bytes mostly, now and then up to 4 KiB. */
static size_t read_size(uint32_t *state)
{
	uint32_t r = rng(state);
	return r % 8 ? r % 41 : r % 4097;
}

static void check_frame(const struct wisp_client_frame *f, const uint8_t *buf,
	size_t n, const uint8_t *s, const struct outcome *o, size_t i)
{
	if (f->size > proto.max_body)
		die("frame above max_body");
	if (f->body >= buf && f->body < buf + n && f->size > n - (size_t)(f->body - buf))
		die("frame runs past its read");
	if (i >= o->count || be32(s + o->body_at[i] - 4) != f->command ||
		be32(s + o->body_at[i] - 8) - 4 != f->size ||
		(f->size && memcmp(f->body, s + o->body_at[i], f->size) != 0))
		die("reads gave other frames than the whole stream");
}

/* A body read as a request id and the rest, and as an error frame's. */
static void check_extensions(const struct wisp_client_frame *f)
{
	struct wisp_client_frame id = *f;
	if (wisp_client_take_id(&id) == 0) {
		if (f->size < WISP_CLIENT_ID_SIZE || id.body != f->body + 4
			|| id.size != f->size - 4 || id.request != be32(f->body))
			die("request id: not the first 4 bytes of the body");
	} else if (f->size >= WISP_CLIENT_ID_SIZE || id.body != f->body) {
		die("request id: refused a body that holds one, or changed it");
	}
	struct wisp_client_error e;
	int r = wisp_client_error_decode(f->body, f->size, &e);
	if (r != (f->size < WISP_CLIENT_ERROR_HEAD ? -1 : 0) || (r == 0
		&& (e.text != (const char *)f->body + 5 || e.text_size != f->size - 5
		|| e.command != be32(f->body) || e.code != f->body[4])))
		die("error frame: not decoded as CLIENT.md says");
}

/* A peek before wisp_client_next said known (its result) and command:
 * it must agree with what next did (r, f). */
static void check_peek(int known, uint32_t command, int r,
	const struct wisp_client_frame *f)
{
	if ((r == 1 && (known != 1 || command != f->command))
		|| (r < 0) != (known < 0))
		die("peek disagrees with the decoder");
}

/* Where the frame after the first count of the stream starts. */
static size_t frame_start(const uint8_t *s, const struct outcome *o,
	size_t count)
{
	if (count == 0)
		return 0;
	size_t at = o->body_at[count - 1];
	return at + be32(s + at - 8) - 4;
}

/* Between reads: d says it has the in_frame bytes of the frame it is in,
 * and holds a buffer only for a body begun, at least as large as what
 * has come of it, at most twice that (or 1 KiB) and never past max_body. */
static void check_partial(const struct wisp_client_decoder *d,
	size_t in_frame)
{
	size_t held = wisp_client_held(d);
	size_t body = in_frame > WISP_CLIENT_HEADER
		? in_frame - WISP_CLIENT_HEADER : 0;
	if (wisp_client_partial(d) != in_frame)
		die("partial is not what has come of the frame");
	if (held > proto.max_body || (held && held < body)
		|| held > (body > 512 ? 2 * body : 1024))
		die("held out of bounds");
}

static void decode_in_reads(const uint8_t *s, size_t n, uint32_t seed,
	const struct outcome *o)
{
	struct wisp_client_decoder d;
	struct wisp_client_frame f;
	size_t count = 0, off = 0;
	int r = 0;
	wisp_client_decoder_init(&d, &proto);
	while (off < n && r >= 0) {
		size_t len = read_size(&seed);
		len = len < n - off ? len : n - off;
		uint8_t *buf = len ? malloc(len) : NULL;
		if (len)
			memcpy(buf, s + off, len);
		const uint8_t *p = buf;
		size_t left = len;
		for (;;) {
			uint32_t command = 0;
			int known = wisp_client_peek(&d, p, left, &command);
			r = wisp_client_next(&d, &p, &left, &f);
			check_peek(known, command, r, &f);
			if (r != 1)
				break;
			check_frame(&f, buf, len, s, o, count++);
			check_extensions(&f);
		}
		if (r == 0 && left != 0)
			die("bytes left unread");
		if (r == 0)
			check_partial(&d, off + len - frame_start(s, o, count));
		free(buf);
		off += len;
	}
	char why[WISP_CLIENT_REASON_MAX];
	const char *reason = wisp_client_reason(&d, why, sizeof why);
	if (count != o->count || r != o->result ||
		(r < 0 && (reason == NULL || strcmp(reason, o->why) != 0)))
		die("reads ended otherwise than the whole stream");
	wisp_client_decoder_free(&d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	proto.max_body = (uint32_t)data[0] << 4;
	uint32_t seed = data[1] | 0x100u;
	const uint8_t *s = data + 2;
	size_t n = size - 2;
	struct outcome o = {.count = 0};
	o.body_at = malloc((n / WISP_CLIENT_HEADER + 1) * sizeof *o.body_at);
	decode_whole(s, n, &o);
	decode_in_reads(s, n, seed, &o);
	free(o.body_at);
	return 0;
}
