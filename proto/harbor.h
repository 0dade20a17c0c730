/* harbor.h: the codec for frames between nodes, specified in HARBOR.md:
 * an encoder that appends frames to one growing buffer, an incremental
 * decoder for the byte stream, and the HELLO's bytes. No sockets and
 * no runtime state: the harbor service drives these. */
#ifndef WISP_HARBOR_H
#define WISP_HARBOR_H

#include <stddef.h>
#include <stdint.h>
#include "wire.h"

#define WISP_HARBOR_VERSION 3
#define WISP_HARBOR_SHARE_SIZE 65 /* an uncompressed P-256 point */
#define WISP_HARBOR_PROOF_SIZE 32
/* The limit on a frame's length field (and on a compressed payload's
 * original size): at least MIN_FRAME, so any handshake frame fits, and at
 * most what the 32-bit field holds. */
#define WISP_HARBOR_MIN_FRAME 256
#define WISP_HARBOR_MAX_FRAME UINT32_MAX

enum {
	WISP_HARBOR_MSG = 1,   /* a message for a service */
	WISP_HARBOR_PING = 2,  /* a heartbeat; the peer answers PONG */
	WISP_HARBOR_PONG = 3,
	WISP_HARBOR_HELLO = 4, /* the first frame each side sends */
	WISP_HARBOR_PROOF = 5, /* proves the handshake's key: the secret */
};

/* Who computes a proof: the side that connected, or the one that accepted. */
enum { WISP_HARBOR_CONNECTOR = 'C', WISP_HARBOR_ACCEPTOR = 'A' };

struct wisp_harbor_msg {
	wisp_handle dest;    /* 0 when name is set */
	wisp_handle source;
	int32_t session;
	uint8_t type;
	uint64_t trace;      /* the message's trace, 0 for none */
	char name[WISP_NAME_MAX + 1]; /* the destination's name, or "" */
	void *payload;       /* wisp_proto_malloc'd, or NULL when size is 0 */
	size_t size;
};

struct wisp_harbor_hello {
	uint16_t version;
	uint16_t node;       /* 1..WISP_MAX_NODE */
	char name[WISP_NAME_MAX + 1];
	uint8_t share[WISP_HARBOR_SHARE_SIZE]; /* the key exchange's */
};

struct wisp_harbor_frame {
	int kind;
	union {
		struct wisp_harbor_msg msg;
		uint64_t token;  /* PING and PONG: the pong echoes the ping's */
		struct wisp_harbor_hello hello;
		uint8_t proof[WISP_HARBOR_PROOF_SIZE];
	};
};

/* Encoding. Frames accumulate in data[0..len); the caller writes them out
 * and sets len to 0. A MSG payload of compress_threshold bytes or more is
 * sent zstd-compressed when that makes it smaller (0: never compress). */
struct wisp_harbor_encoder {
	unsigned char *data;
	size_t len, cap;
	size_t max_frame;
	size_t compress_threshold;
	struct ZSTD_CCtx_s *zstd; /* made on first use, then kept */
};

void wisp_harbor_encoder_init(struct wisp_harbor_encoder *e, size_t max_frame,
	size_t compress_threshold);
void wisp_harbor_encoder_free(struct wisp_harbor_encoder *e);
/* Gives the buffer back when no frame waits in it (the compressor's state
 * is kept): for a link after a large message, or one gone quiet. */
void wisp_harbor_encoder_trim(struct wisp_harbor_encoder *e);
/* Appends f; for a MSG the payload is read, not taken. Returns 0, or -1
 * with nothing appended when f breaks a rule of HARBOR.md: an unknown
 * kind, a bad name or node id, a message to handle 0, or a message that
 * would not fit in max_frame uncompressed. */
int wisp_harbor_encode(struct wisp_harbor_encoder *e,
	const struct wisp_harbor_frame *f);

/* Decoding. Feed bytes as they arrive; each call consumes *used bytes of
 * data and returns one of these. After FRAME, call again with the rest
 * (even when none is left, no bytes are pending); after MORE every byte
 * was used; after ERROR, error says why and every later call fails. */
enum { WISP_HARBOR_ERROR = -1, WISP_HARBOR_MORE = 0, WISP_HARBOR_FRAME = 1 };

struct wisp_harbor_decoder {
	size_t max_frame;
	unsigned char *buf;  /* a frame split across calls, so far */
	size_t len, cap;
	size_t need;         /* that frame's whole size, once its prefix is in */
	int failed;
	char error[128];
	struct ZSTD_DCtx_s *zstd;
};

void wisp_harbor_decoder_init(struct wisp_harbor_decoder *d, size_t max_frame);
void wisp_harbor_decoder_free(struct wisp_harbor_decoder *d);
/* On FRAME, f is filled; a MSG's payload then belongs to the caller. */
int wisp_harbor_decode(struct wisp_harbor_decoder *d, const void *data,
	size_t size, size_t *used, struct wisp_harbor_frame *f);

/* A HELLO's body as sent, which the handshake's keys are bound to (the
 * crypto library's harbor_pake.c); its length. */
#define WISP_HARBOR_HELLO_MAX (5 + WISP_HARBOR_SHARE_SIZE + WISP_NAME_MAX)
size_t wisp_harbor_hello_bytes(const struct wisp_harbor_hello *h,
	uint8_t out[WISP_HARBOR_HELLO_MAX]);

#endif
