/* client.h: the frames between game clients and the gate, specified in
 * CLIENT.md: encoding a header, and an incremental decoder small enough to
 * keep one per connection. */
#ifndef WISP_CLIENT_H
#define WISP_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#define WISP_CLIENT_HEADER 17
/* Room for the longest reason wisp_client_reason writes. */
#define WISP_CLIENT_REASON_MAX 80

/* What both ends agree on, from config. No body may exceed max_body, in
 * either direction; it must be at most UINT32_MAX - 4. */
struct wisp_client_proto {
	uint8_t magic[4];
	uint8_t proto_version;
	uint32_t server_version;
	uint32_t max_body;
};

/* Writes the header of a frame carrying command and a body of body_size
 * bytes. Returns 0, or -1 (writing nothing) when body_size > max_body.
 * One header serves any number of connections: send it, then the body. */
int wisp_client_header(const struct wisp_client_proto *p, uint32_t command,
	size_t body_size, uint8_t out[WISP_CLIENT_HEADER]);

/* The whole frame, header and body, in one block from wisp_malloc; *sz
 * gets its size. NULL when body_size > max_body. */
void *wisp_client_encode(const struct wisp_client_proto *p, uint32_t command,
	const void *body, size_t body_size, size_t *sz);

/* One decoded frame. body stays valid until the next call on its decoder
 * and, when it points into the bytes fed, as long as they do. */
struct wisp_client_frame {
	uint32_t command;
	uint32_t size;
	const uint8_t *body;
};

/* One connection's decoder. Embed it; its fields are private. Between
 * frames it holds no memory of its own; while a frame's body straddles
 * reads, it holds the part received so far. */
struct wisp_client_decoder {
	const struct wisp_client_proto *proto;
	uint8_t *body;        /* the partial body, NULL when none */
	uint32_t body_have;   /* bytes of it received */
	uint8_t head[WISP_CLIENT_HEADER];
	uint8_t head_have;    /* bytes of head received */
	uint8_t state;
};

/* p must outlive d. */
void wisp_client_decoder_init(struct wisp_client_decoder *d,
	const struct wisp_client_proto *p);

/* Decodes from *data (*size bytes), advancing both past what it used.
 * Returns 1 with the next frame in *f; 0 when all the bytes are used and
 * a frame needs more; -1 when the stream is bad: d then stays failed and
 * wisp_client_reason says why. Call until it returns 0 or -1. A frame
 * wholly inside the bytes fed is handed out in place, not copied. */
int wisp_client_next(struct wisp_client_decoder *d, const uint8_t **data,
	size_t *size, struct wisp_client_frame *f);

/* Writes why d failed into buf (n bytes; WISP_CLIENT_REASON_MAX is enough)
 * and returns buf, e.g. "bad magic 47 45 54 20"; NULL if d has not failed. */
const char *wisp_client_reason(const struct wisp_client_decoder *d,
	char *buf, size_t n);

/* Bytes of the frame d is in the middle of, header included: 0 between
 * frames (and once a frame has been handed out). */
uint32_t wisp_client_partial(const struct wisp_client_decoder *d);

/* Bytes of heap d holds for a body that straddles reads: 0 when none. */
size_t wisp_client_held(const struct wisp_client_decoder *d);

/* Frees what d holds (not d itself); d may then be initialized again. */
void wisp_client_decoder_free(struct wisp_client_decoder *d);

#endif
