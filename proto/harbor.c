/* harbor.c: the harbor frame codec of HARBOR.md. The decoder works on the
 * bytes it is given when a whole frame is there (the usual case: one read
 * holds many frames) and copies into its own buffer only a frame split
 * across reads; every length is checked against the limit before anything
 * is allocated for it. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <zstd.h>
#include "harbor.h"
#include "proto_alloc.h"

#define PREFIX 4        /* the length field */
#define MSG_FIXED 14    /* dest, source, session, type, flags */
#define HELLO_FIXED (5 + WISP_HARBOR_SHARE_SIZE) /* version, node, share,
                                                 * name length */
#define TOKEN_SIZE 8
#define ZSTD_LEVEL 1    /* fast: links are short, CPU is the scarce thing */
#define KEEP_BUF 65536  /* a larger split-frame buffer is freed after use */

enum { FLAG_COMPRESSED = 0x01, FLAG_NAMED = 0x02, FLAG_TRACED = 0x04 };
#define TRACE_SIZE 8

static const char *const kind_names[] = {
	[WISP_HARBOR_MSG] = "message", [WISP_HARBOR_PING] = "ping",
	[WISP_HARBOR_PONG] = "pong", [WISP_HARBOR_HELLO] = "hello",
	[WISP_HARBOR_PROOF] = "proof",
};

static unsigned char *put_le(unsigned char *p, uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		p[i] = (unsigned char)(v >> (8 * i));
	return p + n;
}

static uint64_t get_le(const unsigned char *p, int n)
{
	uint64_t v = 0;
	for (int i = 0; i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

static size_t clamp_frame(size_t max_frame)
{
	if (max_frame < WISP_HARBOR_MIN_FRAME)
		return WISP_HARBOR_MIN_FRAME;
	return max_frame > WISP_HARBOR_MAX_FRAME ? WISP_HARBOR_MAX_FRAME : max_frame;
}

/* The length of a NUL-terminated name held in a WISP_NAME_MAX + 1 array,
 * or 0 if it is not a valid name. */
static size_t name_length(const char *name)
{
	return wisp_name_valid(name) ? strlen(name) : 0;
}

/* The HELLO body, as sent and as bound into the handshake's keys. */
static size_t hello_body(unsigned char *p, const struct wisp_harbor_hello *h)
{
	size_t n = strnlen(h->name, WISP_NAME_MAX);
	p = put_le(p, h->version, 2);
	p = put_le(p, h->node, 2);
	memcpy(p, h->share, WISP_HARBOR_SHARE_SIZE);
	p[WISP_HARBOR_SHARE_SIZE] = (unsigned char)n;
	memcpy(p + WISP_HARBOR_SHARE_SIZE + 1, h->name, n);
	return HELLO_FIXED + n;
}

/* Encoding */

void wisp_harbor_encoder_init(struct wisp_harbor_encoder *e, size_t max_frame,
	size_t compress_threshold)
{
	memset(e, 0, sizeof(*e));
	e->max_frame = clamp_frame(max_frame);
	e->compress_threshold = compress_threshold;
}

void wisp_harbor_encoder_free(struct wisp_harbor_encoder *e)
{
	wisp_proto_free(e->data);
	ZSTD_freeCCtx(e->zstd);
	memset(e, 0, sizeof(*e));
}

void wisp_harbor_encoder_trim(struct wisp_harbor_encoder *e)
{
	if (e->len)
		return;
	wisp_proto_free(e->data);
	e->data = NULL;
	e->cap = 0;
}

static void reserve(struct wisp_harbor_encoder *e, size_t n)
{
	if (e->cap - e->len >= n)
		return;
	size_t cap = e->cap ? e->cap : 256;
	while (cap - e->len < n)
		cap *= 2;
	e->data = wisp_proto_realloc(e->data, cap);
	e->cap = cap;
}

/* Appends a frame's prefix and kind; returns where its body goes. */
static unsigned char *start_frame(struct wisp_harbor_encoder *e, int kind,
	size_t body)
{
	reserve(e, PREFIX + 1 + body);
	unsigned char *p = put_le(e->data + e->len, 1 + body, PREFIX);
	*p = (unsigned char)kind;
	e->len += PREFIX + 1 + body;
	return p + 1;
}

/* Writes a MSG body up to its payload; returns where the payload goes. */
static unsigned char *put_msg_head(unsigned char *p,
	const struct wisp_harbor_msg *m, size_t name_len, int flags, size_t orig)
{
	p = put_le(p, m->dest, 4);
	p = put_le(p, m->source, 4);
	p = put_le(p, (uint32_t)m->session, 4);
	*p++ = m->type;
	*p++ = (unsigned char)flags;
	if (flags & FLAG_COMPRESSED)
		p = put_le(p, orig, 4);
	if (flags & FLAG_TRACED)
		p = put_le(p, m->trace, TRACE_SIZE);
	if (flags & FLAG_NAMED) {
		*p++ = (unsigned char)name_len;
		memcpy(p, m->name, name_len);
		p += name_len;
	}
	return p;
}

/* Compresses straight into the output buffer; returns 0, leaving len as
 * it was, when that does not make the frame smaller. */
static int put_compressed(struct wisp_harbor_encoder *e,
	const struct wisp_harbor_msg *m, size_t body, size_t name_len, int flags)
{
	if (e->zstd == NULL && (e->zstd = ZSTD_createCCtx()) == NULL)
		return 0;
	flags |= FLAG_COMPRESSED;
	size_t head = PREFIX + 1 + body + 4;
	size_t bound = ZSTD_compressBound(m->size);
	reserve(e, head + bound);
	unsigned char *frame = e->data + e->len;
	size_t z = ZSTD_compressCCtx(e->zstd, frame + head, bound, m->payload,
		m->size, ZSTD_LEVEL);
	if (ZSTD_isError(z) || z + 4 >= m->size)
		return 0;
	put_le(frame, head - PREFIX + z, PREFIX);
	frame[PREFIX] = WISP_HARBOR_MSG;
	put_msg_head(frame + PREFIX + 1, m, name_len, flags, m->size);
	e->len += head + z;
	return 1;
}

static int put_msg(struct wisp_harbor_encoder *e, const struct wisp_harbor_msg *m)
{
	size_t name_len = 0;
	int flags = 0;
	if (m->name[0] != '\0') {
		if (m->dest != 0 || (name_len = name_length(m->name)) == 0)
			return -1;
		flags = FLAG_NAMED;
	} else if (m->dest == 0) {
		return -1;
	}
	size_t body = MSG_FIXED + (name_len ? 1 + name_len : 0);
	if (m->trace) { /* an untraced message costs no byte more */
		flags |= FLAG_TRACED;
		body += TRACE_SIZE;
	}
	if (m->size > e->max_frame - 1 - body)
		return -1;
	if (e->compress_threshold && m->size >= e->compress_threshold
		&& put_compressed(e, m, body, name_len, flags))
		return 0;
	unsigned char *p = start_frame(e, WISP_HARBOR_MSG, body + m->size);
	p = put_msg_head(p, m, name_len, flags, 0);
	if (m->size)
		memcpy(p, m->payload, m->size);
	return 0;
}

static int put_hello(struct wisp_harbor_encoder *e,
	const struct wisp_harbor_hello *h)
{
	unsigned char body[HELLO_FIXED + WISP_NAME_MAX];
	if (h->node == 0 || h->node > WISP_MAX_NODE || name_length(h->name) == 0)
		return -1;
	size_t n = hello_body(body, h);
	memcpy(start_frame(e, WISP_HARBOR_HELLO, n), body, n);
	return 0;
}

int wisp_harbor_encode(struct wisp_harbor_encoder *e,
	const struct wisp_harbor_frame *f)
{
	switch (f->kind) {
	case WISP_HARBOR_MSG:
		return put_msg(e, &f->msg);
	case WISP_HARBOR_PING:
	case WISP_HARBOR_PONG:
		put_le(start_frame(e, f->kind, TOKEN_SIZE), f->token, TOKEN_SIZE);
		return 0;
	case WISP_HARBOR_HELLO:
		return put_hello(e, &f->hello);
	case WISP_HARBOR_PROOF:
		memcpy(start_frame(e, f->kind, WISP_HARBOR_PROOF_SIZE), f->proof,
			WISP_HARBOR_PROOF_SIZE);
		return 0;
	}
	return -1;
}

/* Decoding */

void wisp_harbor_decoder_init(struct wisp_harbor_decoder *d, size_t max_frame)
{
	memset(d, 0, sizeof(*d));
	d->max_frame = clamp_frame(max_frame);
}

void wisp_harbor_decoder_free(struct wisp_harbor_decoder *d)
{
	wisp_proto_free(d->buf);
	ZSTD_freeDCtx(d->zstd);
	memset(d, 0, sizeof(*d));
}

__attribute__((format(printf, 2, 3)))
static int fail(struct wisp_harbor_decoder *d, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(d->error, sizeof(d->error), fmt, ap);
	va_end(ap);
	d->failed = 1;
	return WISP_HARBOR_ERROR;
}

struct cursor {
	const unsigned char *p;
	size_t left;
};

/* The next n bytes, or NULL when fewer are left. */
static const unsigned char *take(struct cursor *c, size_t n)
{
	if (c->left < n)
		return NULL;
	const unsigned char *p = c->p;
	c->p += n;
	c->left -= n;
	return p;
}

static int check_name(struct wisp_harbor_decoder *d, const unsigned char *s,
	size_t n, const char *what)
{
	if (n == 0 || n > WISP_NAME_MAX)
		return fail(d, "%s name of %zu bytes; names have 1 to %d", what, n,
			WISP_NAME_MAX);
	size_t bad = wisp_name_span((const char *)s, n);
	if (bad < n)
		return fail(d, "%s name has the byte 0x%02x at %zu, outside [A-Za-z0-9_.-]",
			what, s[bad], bad);
	return 0;
}

static int check_body(struct wisp_harbor_decoder *d, int kind, size_t n,
	size_t want)
{
	if (n == want)
		return 0;
	return fail(d, "%s frame with a %zu-byte body, want %zu", kind_names[kind],
		n, want);
}

/* A compressed payload is one zstd frame that declares its size, which
 * must be the original size the message header gives. Checking that
 * before allocating keeps a forged header from costing memory. */
static int inflate(struct wisp_harbor_decoder *d, struct cursor *c,
	uint32_t orig, struct wisp_harbor_msg *m)
{
	if (orig == 0 || orig > d->max_frame)
		return fail(d, "compressed payload of %" PRIu32 " bytes, outside 1..%zu",
			orig, d->max_frame);
	unsigned long long declared = ZSTD_getFrameContentSize(c->p, c->left);
	if (declared == ZSTD_CONTENTSIZE_ERROR || declared == ZSTD_CONTENTSIZE_UNKNOWN
		|| ZSTD_findFrameCompressedSize(c->p, c->left) != c->left)
		return fail(d, "compressed payload is not one zstd frame of known size");
	if (declared != orig)
		return fail(d, "compressed payload says %" PRIu32
			" bytes, its zstd frame holds %llu", orig, declared);
	if (d->zstd == NULL && (d->zstd = ZSTD_createDCtx()) == NULL)
		return fail(d, "no memory for a zstd context");
	m->payload = wisp_proto_malloc(orig);
	size_t got = ZSTD_decompressDCtx(d->zstd, m->payload, orig, c->p, c->left);
	if (got == orig) {
		m->size = orig;
		return WISP_HARBOR_FRAME;
	}
	wisp_proto_free(m->payload);
	m->payload = NULL;
	if (ZSTD_isError(got))
		return fail(d, "compressed payload does not decompress: %s",
			ZSTD_getErrorName(got));
	return fail(d, "compressed payload decompresses to %zu bytes, not %" PRIu32,
		got, orig);
}

static int msg_name(struct wisp_harbor_decoder *d, struct cursor *c,
	struct wisp_harbor_msg *m)
{
	const unsigned char *len = take(c, 1);
	const unsigned char *name = len ? take(c, *len) : NULL;
	if (name == NULL)
		return fail(d, "message frame ends inside its destination name");
	if (check_name(d, name, *len, "destination") < 0)
		return -1;
	memcpy(m->name, name, *len);
	m->name[*len] = '\0';
	if (m->dest != 0)
		return fail(d, "message to name %s also gives handle %08" PRIx32,
			m->name, m->dest);
	return 0;
}

static int parse_msg(struct wisp_harbor_decoder *d, struct cursor *c,
	struct wisp_harbor_msg *m)
{
	const unsigned char *h = take(c, MSG_FIXED), *orig = NULL, *trace;
	if (h == NULL)
		return fail(d, "message frame with a %zu-byte body, shorter than"
			" its %d-byte header", c->left, MSG_FIXED);
	m->dest = (uint32_t)get_le(h, 4);
	m->source = (uint32_t)get_le(h + 4, 4);
	m->session = (int32_t)(uint32_t)get_le(h + 8, 4);
	m->type = h[12];
	int flags = h[13];
	if (flags & ~(FLAG_COMPRESSED | FLAG_NAMED | FLAG_TRACED))
		return fail(d, "message with unknown flags 0x%02x", flags);
	if ((flags & FLAG_COMPRESSED) && (orig = take(c, 4)) == NULL)
		return fail(d, "message frame ends inside its original size");
	m->trace = 0;
	if (flags & FLAG_TRACED) {
		if ((trace = take(c, TRACE_SIZE)) == NULL)
			return fail(d, "message frame ends inside its trace");
		if ((m->trace = get_le(trace, TRACE_SIZE)) == 0)
			return fail(d, "message flagged traced with trace 0");
	}
	if (flags & FLAG_NAMED) {
		if (msg_name(d, c, m) < 0)
			return WISP_HARBOR_ERROR;
	} else if (m->dest == 0) {
		return fail(d, "message to handle 0");
	}
	if (orig)
		return inflate(d, c, (uint32_t)get_le(orig, 4), m);
	m->size = c->left;
	if (m->size)
		m->payload = memcpy(wisp_proto_malloc(m->size), c->p, m->size);
	return WISP_HARBOR_FRAME;
}

static int parse_hello(struct wisp_harbor_decoder *d, struct cursor *c,
	struct wisp_harbor_hello *h)
{
	const unsigned char *b = c->p;
	size_t name_len = c->left > HELLO_FIXED - 1 ? b[HELLO_FIXED - 1] : 0;
	if (check_body(d, WISP_HARBOR_HELLO, c->left, HELLO_FIXED + name_len) < 0
		|| check_name(d, b + HELLO_FIXED, name_len, "node") < 0)
		return WISP_HARBOR_ERROR;
	h->version = (uint16_t)get_le(b, 2);
	h->node = (uint16_t)get_le(b + 2, 2);
	if (h->node == 0 || h->node > WISP_MAX_NODE)
		return fail(d, "hello from node id %u, outside 1..%u", h->node,
			WISP_MAX_NODE);
	memcpy(h->share, b + 4, WISP_HARBOR_SHARE_SIZE);
	memcpy(h->name, b + HELLO_FIXED, name_len);
	return WISP_HARBOR_FRAME;
}

/* Decodes the frame whose length field said n: body[0] is its kind. */
static int parse(struct wisp_harbor_decoder *d, const unsigned char *body,
	size_t n, struct wisp_harbor_frame *f)
{
	struct cursor c = {body + 1, n - 1};
	f->kind = body[0];
	switch (f->kind) {
	case WISP_HARBOR_MSG:
		/* the fields parse_msg may leave; not the whole name: this runs
		 * for every message */
		f->msg.name[0] = '\0';
		f->msg.payload = NULL;
		f->msg.size = 0;
		return parse_msg(d, &c, &f->msg);
	case WISP_HARBOR_PING:
	case WISP_HARBOR_PONG:
		if (check_body(d, f->kind, c.left, TOKEN_SIZE) < 0)
			return WISP_HARBOR_ERROR;
		f->token = get_le(c.p, TOKEN_SIZE);
		return WISP_HARBOR_FRAME;
	case WISP_HARBOR_HELLO:
		memset(&f->hello, 0, sizeof(f->hello));
		return parse_hello(d, &c, &f->hello);
	case WISP_HARBOR_PROOF:
		if (check_body(d, f->kind, c.left, WISP_HARBOR_PROOF_SIZE) < 0)
			return WISP_HARBOR_ERROR;
		memcpy(f->proof, c.p, WISP_HARBOR_PROOF_SIZE);
		return WISP_HARBOR_FRAME;
	}
	return fail(d, "unknown frame kind 0x%02x", (unsigned)f->kind);
}

/* Reads a length field; *whole gets the frame's size with the field. */
static int frame_size(struct wisp_harbor_decoder *d, const unsigned char *p,
	size_t *whole)
{
	uint32_t n = (uint32_t)get_le(p, PREFIX);
	if (n == 0)
		return fail(d, "frame of 0 bytes, without even a kind");
	if (n > d->max_frame)
		return fail(d, "frame of %" PRIu32 " bytes exceeds the limit of %zu",
			n, d->max_frame);
	*whole = PREFIX + (size_t)n;
	return 0;
}

/* Grows the buffer with what arrives rather than to the announced size at
 * once, so a peer must send the bytes it makes us hold. */
static void append(struct wisp_harbor_decoder *d, const unsigned char *p,
	size_t n)
{
	if (d->len + n > d->cap) {
		size_t cap = d->cap ? d->cap : 256;
		while (cap < d->len + n)
			cap *= 2;
		d->cap = d->need && cap > d->need ? d->need : cap;
		d->buf = wisp_proto_realloc(d->buf, d->cap);
	}
	memcpy(d->buf + d->len, p, n);
	d->len += n;
}

static int finish(struct wisp_harbor_decoder *d, struct wisp_harbor_frame *f)
{
	int r = parse(d, d->buf + PREFIX, d->need - PREFIX, f);
	d->len = d->need = 0;
	if (d->cap > KEEP_BUF) {
		wisp_proto_free(d->buf);
		d->buf = NULL;
		d->cap = 0;
	}
	return r;
}

/* Copies bytes of a frame split across calls until it is whole. */
static int gather(struct wisp_harbor_decoder *d, const unsigned char *p,
	size_t size, size_t *used, struct wisp_harbor_frame *f)
{
	while (*used < size) {
		size_t want = d->need ? d->need : PREFIX;
		size_t take = want - d->len < size - *used ? want - d->len : size - *used;
		append(d, p + *used, take);
		*used += take;
		if (d->len < want)
			break;
		if (d->need == 0) {
			if (frame_size(d, d->buf, &d->need) < 0)
				return WISP_HARBOR_ERROR;
			continue;
		}
		return finish(d, f);
	}
	return WISP_HARBOR_MORE;
}

int wisp_harbor_decode(struct wisp_harbor_decoder *d, const void *data,
	size_t size, size_t *used, struct wisp_harbor_frame *f)
{
	const unsigned char *p = data;
	size_t whole;
	*used = 0;
	if (d->failed)
		return WISP_HARBOR_ERROR;
	if (d->len == 0 && size >= PREFIX) {
		if (frame_size(d, p, &whole) < 0)
			return WISP_HARBOR_ERROR;
		if (size >= whole) {
			*used = whole;
			return parse(d, p + PREFIX, whole - PREFIX, f);
		}
	}
	return gather(d, p, size, used, f);
}

/* Handshake */

_Static_assert(WISP_HARBOR_HELLO_MAX == HELLO_FIXED + WISP_NAME_MAX,
	"a HELLO body's bound");

size_t wisp_harbor_hello_bytes(const struct wisp_harbor_hello *h,
	uint8_t out[WISP_HARBOR_HELLO_MAX])
{
	return hello_body(out, h);
}
