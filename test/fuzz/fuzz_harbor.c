/* fuzz_harbor.c: libFuzzer target for the harbor decoder. The input is a
 * byte stream from a peer. It is decoded twice, in one piece and in pieces
 * whose sizes come from the input, and both must give the same frames and
 * the same error. Each frame must encode again and decode to itself; each
 * HELLO's share also goes through the handshake's key exchange, which must
 * refuse a point off the curve without harm. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "harbor.h"
#include "harbor_pake.h"
#include "proto_alloc.h"

#define MAX_FRAME (1u << 20)
#define SECRET "fuzz secret"

static _Noreturn void die(const char *what)
{
	fprintf(stderr, "fuzz_harbor: %s\n", what);
	abort();
}

/* The frames and error of one decoding, re-encoded into out. */
struct outcome {
	struct wisp_harbor_encoder out;
	char error[sizeof(((struct wisp_harbor_decoder *)0)->error)];
};

static void check_round_trip(const struct wisp_harbor_frame *f,
	struct wisp_harbor_encoder *out)
{
	size_t start = out->len, used;
	if (wisp_harbor_encode(out, f) != 0)
		die("a decoded frame does not encode");
	struct wisp_harbor_decoder d;
	struct wisp_harbor_frame again;
	wisp_harbor_decoder_init(&d, out->max_frame);
	if (wisp_harbor_decode(&d, out->data + start, out->len - start, &used,
			&again) != WISP_HARBOR_FRAME || used != out->len - start)
		die("a re-encoded frame does not decode");
	if (again.kind != f->kind)
		die("a round trip changed the kind");
	if (f->kind == WISP_HARBOR_MSG) {
		if (again.msg.size != f->msg.size || (f->msg.size && memcmp(
				again.msg.payload, f->msg.payload, f->msg.size) != 0))
			die("a round trip changed a payload");
		if (again.msg.trace != f->msg.trace)
			die("a round trip changed a trace");
		wisp_proto_free(again.msg.payload);
	}
	wisp_harbor_decoder_free(&d);
}

/* What the acceptor side does with a HELLO: its key exchange with the
 * share in it. */
static void handshake(const struct wisp_harbor_frame *f)
{
	struct wisp_harbor_hello self = {
		.version = WISP_HARBOR_VERSION, .node = 1, .name = "fuzz",
	};
	struct wisp_harbor_keys keys;
	if (f->kind != WISP_HARBOR_HELLO)
		return;
	struct wisp_harbor_pake *p = wisp_harbor_pake_start(SECRET,
		strlen(SECRET), WISP_HARBOR_ACCEPTOR, self.share);
	if (p == NULL)
		die("the key exchange did not start");
	if (wisp_harbor_pake_finish(p, &f->hello, &self, &keys) == 0
		&& wisp_harbor_proof_equal(keys.proof_connector,
			keys.proof_acceptor))
		die("the two proofs of an exchange are equal");
	wisp_harbor_pake_free(p);
}

static void take(struct wisp_harbor_frame *f, struct outcome *o)
{
	check_round_trip(f, &o->out);
	handshake(f);
	if (f->kind == WISP_HARBOR_MSG)
		wisp_proto_free(f->msg.payload);
}

/* Decodes data in one piece, or when split is set in pieces of 1 to 67
 * bytes, their sizes drawn from seed. */
static void decode(const uint8_t *data, size_t size, int split,
	uint32_t seed, struct outcome *o)
{
	struct wisp_harbor_decoder d;
	struct wisp_harbor_frame f;
	wisp_harbor_decoder_init(&d, MAX_FRAME);
	wisp_harbor_encoder_init(&o->out, 2 * MAX_FRAME, 64);
	int r = WISP_HARBOR_MORE;
	for (size_t at = 0; at < size && r != WISP_HARBOR_ERROR; ) {
		size_t piece = size - at, used;
		if (split) {
			seed = seed * 1103515245u + 12345u;
			if (piece > 1 + (seed >> 16) % 67)
				piece = 1 + (seed >> 16) % 67;
		}
		while ((r = wisp_harbor_decode(&d, data + at, piece, &used, &f))
				== WISP_HARBOR_FRAME) {
			take(&f, o);
			at += used;
			piece -= used;
		}
		if (r == WISP_HARBOR_MORE && used != piece)
			die("MORE without using every byte");
		at += used;
	}
	strcpy(o->error, r == WISP_HARBOR_ERROR ? d.error : "");
	wisp_harbor_decoder_free(&d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct outcome whole, pieces;
	uint32_t seed = (uint32_t)size * 2654435761u;
	if (size > 0)
		seed ^= data[size - 1];
	decode(data, size, 0, seed, &whole);
	decode(data, size, 1, seed, &pieces);
	if (strcmp(whole.error, pieces.error) != 0)
		die("splitting the input changed the error");
	if (whole.out.len != pieces.out.len || (whole.out.len
			&& memcmp(whole.out.data, pieces.out.data, whole.out.len) != 0))
		die("splitting the input changed the frames");
	wisp_harbor_encoder_free(&whole.out);
	wisp_harbor_encoder_free(&pieces.out);
	return 0;
}
