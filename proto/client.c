/* client.c: the client frame codec of CLIENT.md. The gate keeps one decoder
 * per connection, so a decoder is a few dozen bytes between frames; it
 * hands out frames in place whenever a read holds them whole, and buffers
 * only a body that straddles reads, growing it as its bytes arrive. Also
 * the two things a body may carry for the gate: a request id, and an
 * error frame's reason. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "proto_alloc.h"
#include "client.h"

/* Where each header field starts; each ends where the next begins. */
enum {
	AT_MAGIC = 0,
	AT_PROTO = 4,
	AT_SERVER = 5,
	AT_LENGTH = 9,
	AT_COMMAND = 13,
};

enum { READING, DELIVERED, FAILED };

/* The first allocation for a straddling body; it then doubles. */
#define MIN_ROOM 1024

static uint32_t get_be32(const uint8_t *b)
{
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 |
		(uint32_t)b[2] << 8 | b[3];
}

static void put_be32(uint8_t *b, uint32_t v)
{
	b[0] = (uint8_t)(v >> 24);
	b[1] = (uint8_t)(v >> 16);
	b[2] = (uint8_t)(v >> 8);
	b[3] = (uint8_t)v;
}

int wisp_client_header(const struct wisp_client_proto *p, uint32_t command,
	size_t body_size, uint8_t out[WISP_CLIENT_HEADER])
{
	if (body_size > p->max_body || body_size > UINT32_MAX - 4)
		return -1;
	memcpy(out + AT_MAGIC, p->magic, 4);
	out[AT_PROTO] = p->proto_version;
	put_be32(out + AT_SERVER, p->server_version);
	put_be32(out + AT_LENGTH, (uint32_t)body_size + 4);
	put_be32(out + AT_COMMAND, command);
	return 0;
}

void *wisp_client_encode(const struct wisp_client_proto *p, uint32_t command,
	const void *body, size_t body_size, size_t *sz)
{
	uint8_t head[WISP_CLIENT_HEADER];
	if (wisp_client_header(p, command, body_size, head) < 0)
		return NULL;
	uint8_t *frame = wisp_proto_malloc(WISP_CLIENT_HEADER + body_size);
	memcpy(frame, head, WISP_CLIENT_HEADER);
	if (body_size)
		memcpy(frame + WISP_CLIENT_HEADER, body, body_size);
	*sz = WISP_CLIENT_HEADER + body_size;
	return frame;
}

/* Formats a reason when asked for one (why != NULL); always returns -1. */
__attribute__((format(printf, 3, 4)))
static int refuse(char *why, size_t n, const char *fmt, ...)
{
	if (why != NULL) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(why, n, fmt, ap);
		va_end(ap);
	}
	return -1;
}

/* Checks each field wholly among the first have bytes of h, so a bad
 * field is caught as soon as it arrives. 0 if they are good. */
static int check_header(const struct wisp_client_proto *p, const uint8_t *h,
	size_t have, char *why, size_t n)
{
	if (have < AT_PROTO)
		return 0;
	if (memcmp(h + AT_MAGIC, p->magic, 4) != 0)
		return refuse(why, n, "bad magic %02x %02x %02x %02x",
			h[0], h[1], h[2], h[3]);
	if (have < AT_SERVER)
		return 0;
	if (h[AT_PROTO] != p->proto_version)
		return refuse(why, n, "protocol version %u, want %u",
			h[AT_PROTO], p->proto_version);
	if (have < AT_LENGTH)
		return 0;
	uint32_t server = get_be32(h + AT_SERVER);
	if (server != p->server_version)
		return refuse(why, n, "server version %" PRIu32 ", want %" PRIu32,
			server, p->server_version);
	if (have < AT_COMMAND)
		return 0;
	uint32_t length = get_be32(h + AT_LENGTH);
	if (length < 4)
		return refuse(why, n, "frame length %" PRIu32 ", less than the "
			"4 bytes of its command id", length);
	if (length - 4 > p->max_body)
		return refuse(why, n, "frame body of %" PRIu32 " bytes exceeds "
			"the limit of %" PRIu32, length - 4, p->max_body);
	return 0;
}

void wisp_client_decoder_init(struct wisp_client_decoder *d,
	const struct wisp_client_proto *p)
{
	memset(d, 0, sizeof *d);
	d->proto = p;
	d->state = READING;
}

void wisp_client_decoder_free(struct wisp_client_decoder *d)
{
	wisp_proto_free(d->body);
	d->body = NULL;
}

static void advance(const uint8_t **data, size_t *size, size_t n)
{
	*data += n;
	*size -= n;
}

/* Forgets the frame handed out last, freeing its body if it was copied. */
static void start_frame(struct wisp_client_decoder *d)
{
	wisp_proto_free(d->body);
	d->body = NULL;
	d->body_have = 0;
	d->head_have = 0;
	d->state = READING;
}

/* Copies what it can of the header; 1 once the header is whole. */
static int take_header(struct wisp_client_decoder *d, const uint8_t **data,
	size_t *size)
{
	size_t take = WISP_CLIENT_HEADER - d->head_have;
	if (take > *size)
		take = *size;
	memcpy(d->head + d->head_have, *data, take);
	d->head_have += (uint8_t)take;
	advance(data, size, take);
	return d->head_have == WISP_CLIENT_HEADER;
}

/* The body buffer's size once have bytes are in: doubling from MIN_ROOM,
 * never past the body's length. Growing with the bytes received means a
 * header claiming a large body costs only what really follows it. */
static uint32_t room(uint32_t have, uint32_t length)
{
	uint64_t cap = MIN_ROOM;
	while (cap < have)
		cap *= 2;
	return cap < length ? (uint32_t)cap : length;
}

static int deliver(struct wisp_client_decoder *d, uint32_t length,
	const uint8_t *body, struct wisp_client_frame *f)
{
	f->command = get_be32(d->head + AT_COMMAND);
	f->size = length;
	f->body = body;
	f->request = 0;
	d->state = DELIVERED;
	return 1;
}

/* With the header whole: hands out the body in place if nothing of it is
 * buffered and it is all here; otherwise buffers what there is. */
static int take_body(struct wisp_client_decoder *d, const uint8_t **data,
	size_t *size, struct wisp_client_frame *f)
{
	uint32_t length = get_be32(d->head + AT_LENGTH) - 4;
	if (d->body == NULL && *size >= length) {
		const uint8_t *body = *data;
		advance(data, size, length);
		return deliver(d, length, body, f);
	}
	size_t take = length - d->body_have;
	if (take > *size)
		take = *size;
	if (take == 0)
		return 0;
	uint32_t have = d->body_have + (uint32_t)take;
	if (d->body == NULL || have > room(d->body_have, length))
		d->body = wisp_proto_realloc(d->body, room(have, length));
	memcpy(d->body + d->body_have, *data, take);
	advance(data, size, take);
	d->body_have = have;
	return have == length ? deliver(d, length, d->body, f) : 0;
}

int wisp_client_next(struct wisp_client_decoder *d, const uint8_t **data,
	size_t *size, struct wisp_client_frame *f)
{
	if (d->state == FAILED)
		return -1;
	if (d->state == DELIVERED)
		start_frame(d);
	if (d->head_have < WISP_CLIENT_HEADER) {
		if (*size == 0)
			return 0;
		int whole = take_header(d, data, size);
		if (check_header(d->proto, d->head, d->head_have, NULL, 0) < 0) {
			d->state = FAILED;
			return -1;
		}
		if (!whole)
			return 0;
	}
	return take_body(d, data, size, f);
}

uint32_t wisp_client_partial(const struct wisp_client_decoder *d)
{
	return d->state == READING ? d->head_have + d->body_have : 0;
}

size_t wisp_client_held(const struct wisp_client_decoder *d)
{
	if (d->body == NULL)
		return 0;
	return room(d->body_have, get_be32(d->head + AT_LENGTH) - 4);
}

const char *wisp_client_reason(const struct wisp_client_decoder *d,
	char *buf, size_t n)
{
	if (d->state != FAILED)
		return NULL;
	check_header(d->proto, d->head, d->head_have, buf, n);
	return buf;
}

/* The header from what d holds of it and the bytes that follow, without
 * taking any: checked as far as it goes. */
int wisp_client_peek(const struct wisp_client_decoder *d, const uint8_t *data,
	size_t size, uint32_t *command)
{
	if (d->state == FAILED)
		return -1;
	uint8_t head[WISP_CLIENT_HEADER];
	size_t have = d->state == DELIVERED ? 0 : d->head_have;
	size_t take = WISP_CLIENT_HEADER - have < size
		? WISP_CLIENT_HEADER - have : size;
	memcpy(head, d->head, have);
	if (take)
		memcpy(head + have, data, take);
	have += take;
	if (check_header(d->proto, head, have, NULL, 0) < 0)
		return -1;
	if (have < WISP_CLIENT_HEADER)
		return 0;
	*command = get_be32(head + AT_COMMAND);
	return 1;
}

int wisp_client_take_id(struct wisp_client_frame *f)
{
	if (f->size < WISP_CLIENT_ID_SIZE)
		return -1;
	f->request = get_be32(f->body);
	f->body += WISP_CLIENT_ID_SIZE;
	f->size -= WISP_CLIENT_ID_SIZE;
	return 0;
}

int wisp_client_header_id(const struct wisp_client_proto *p, uint32_t command,
	uint32_t id, size_t body_size,
	uint8_t out[WISP_CLIENT_HEADER + WISP_CLIENT_ID_SIZE])
{
	if (body_size > SIZE_MAX - WISP_CLIENT_ID_SIZE
		|| wisp_client_header(p, command, body_size + WISP_CLIENT_ID_SIZE,
			out) < 0)
		return -1;
	put_be32(out + WISP_CLIENT_HEADER, id);
	return 0;
}

static const char *const error_texts[] = {
	[WISP_CLIENT_ERR_NO_ROUTE] = "no route",
	[WISP_CLIENT_ERR_NO_SERVICE] = "no service",
	[WISP_CLIENT_ERR_NODE_DOWN] = "node down",
	[WISP_CLIENT_ERR_OVERLOADED] = "overloaded",
	[WISP_CLIENT_ERR_HANDLER] = "handler error",
	[WISP_CLIENT_ERR_TIMEOUT] = "timeout",
	[WISP_CLIENT_ERR_EXITED] = "service exited",
};

const char *wisp_client_error_text(int code)
{
	int n = (int)(sizeof(error_texts) / sizeof(error_texts[0]));
	return code > 0 && code < n ? error_texts[code] : "error";
}

size_t wisp_client_error_encode(uint8_t *out, size_t cap, uint32_t command,
	uint8_t code, const char *text)
{
	if (cap < WISP_CLIENT_ERROR_HEAD)
		return 0;
	size_t n = strlen(text);
	if (n > cap - WISP_CLIENT_ERROR_HEAD)
		n = cap - WISP_CLIENT_ERROR_HEAD;
	put_be32(out, command);
	out[4] = code;
	memcpy(out + WISP_CLIENT_ERROR_HEAD, text, n);
	return WISP_CLIENT_ERROR_HEAD + n;
}

int wisp_client_error_decode(const void *body, size_t size,
	struct wisp_client_error *e)
{
	const uint8_t *b = body;
	if (size < WISP_CLIENT_ERROR_HEAD)
		return -1;
	e->command = get_be32(b);
	e->code = b[4];
	e->text = (const char *)b + WISP_CLIENT_ERROR_HEAD;
	e->text_size = size - WISP_CLIENT_ERROR_HEAD;
	return 0;
}
