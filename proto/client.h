/* client.h: the frames between game clients and the gate, specified in
 * CLIENT.md: encoding a header, an incremental decoder small enough to
 * keep one per connection, the error frame's body and the optional
 * request ids. */
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

/* The whole frame, header and body, in one block from wisp_proto_malloc;
 * *sz gets its size. NULL when body_size > max_body. */
void *wisp_client_encode(const struct wisp_client_proto *p, uint32_t command,
	const void *body, size_t body_size, size_t *sz);

/* One decoded frame. body stays valid until the next call on its decoder
 * and, when it points into the bytes fed, as long as they do. request is
 * 0 until wisp_client_take_id moves a request id out of the body. */
struct wisp_client_frame {
	uint32_t command;
	uint32_t size;
	const uint8_t *body;
	uint32_t request;
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

/* The command id of the frame d hands out next, reading d's state and the
 * size bytes at data without using any: 1 with it in *command once that
 * frame's header is whole; 0 while it is not; -1 when the header is bad
 * so far (wisp_client_next then fails). Lets a reader decide, between
 * frames, whether to take the next one now. */
int wisp_client_peek(const struct wisp_client_decoder *d, const uint8_t *data,
	size_t size, uint32_t *command);

/* Request ids (CLIENT.md "Request ids"), an extension both ends turn on:
 * the first 4 bytes of every body, both ways, are a request id. */
#define WISP_CLIENT_ID_SIZE 4

/* Moves the request id off the front of f's body into f->request: 0, or
 * -1 (f unchanged) when the body is too short to hold one. */
int wisp_client_take_id(struct wisp_client_frame *f);

/* The header of a frame whose body is the request id and then body_size
 * bytes, with the id after it: WISP_CLIENT_HEADER + WISP_CLIENT_ID_SIZE
 * bytes. 0, or -1 (writing nothing) when the id and body_size bytes
 * exceed max_body. */
int wisp_client_header_id(const struct wisp_client_proto *p, uint32_t command,
	uint32_t id, size_t body_size,
	uint8_t out[WISP_CLIENT_HEADER + WISP_CLIENT_ID_SIZE]);

/* Error frames (CLIENT.md "Error frames"): the gate's answer to a request
 * that failed, sent under a reserved command id. The body (after the
 * request id, with request ids on): the failed request's command id
 * (u32), a reason code (u8), a short text. */
#define WISP_CLIENT_ERROR_HEAD 5
/* The longest text wisp_client_error_text gives. */
#define WISP_CLIENT_ERROR_TEXT_MAX 16

enum wisp_client_error_code {
	WISP_CLIENT_ERR_NO_ROUTE = 1,   /* no route covers the command id */
	WISP_CLIENT_ERR_NO_SERVICE = 2, /* the route names no such service */
	WISP_CLIENT_ERR_NODE_DOWN = 3,  /* its node is down or unreachable, or
	                                 * was lost with the request in flight */
	WISP_CLIENT_ERR_OVERLOADED = 4, /* its service refused it: too busy */
	WISP_CLIENT_ERR_HANDLER = 5,    /* the handler raised, or answered
	                                 * with something not a reply */
	WISP_CLIENT_ERR_TIMEOUT = 6,    /* no answer within gate.reply_timeout */
	WISP_CLIENT_ERR_EXITED = 7,     /* the service exited before answering */
};

struct wisp_client_error {
	uint32_t command;  /* the failed request's */
	uint8_t code;      /* any value: later versions may add codes */
	const char *text;  /* text_size bytes, not NUL-terminated */
	size_t text_size;
};

/* The text the gate sends with code, e.g. "no route"; "error" for a code
 * not listed above. */
const char *wisp_client_error_text(int code);

/* Writes an error body into out (cap bytes): command, code, and as much
 * of text as fits. Its size, or 0 when cap < WISP_CLIENT_ERROR_HEAD. */
size_t wisp_client_error_encode(uint8_t *out, size_t cap, uint32_t command,
	uint8_t code, const char *text);

/* 0 with *e pointing into body, or -1 when body is shorter than
 * WISP_CLIENT_ERROR_HEAD. */
int wisp_client_error_decode(const void *body, size_t size,
	struct wisp_client_error *e);

#endif
