/* value_stream.c: the reader and writer of wisp_value.h, Lua's message
 * format (proto/VALUE.md) for C services. The reader pays for nothing
 * it has not checked: like the Lua decoder, it counts the values
 * announced and not yet read (each takes at least one byte), so a count
 * larger than the bytes left is refused at once, and it allocates
 * nothing. The writer lays the values down after room for the count,
 * which it writes last, when it is known. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "value_format.h"
#include "wisp.h"

/* ---- reading ---- */

static int bad(struct wisp_value_reader *r, const uint8_t *at,
	const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int bad(struct wisp_value_reader *r, const uint8_t *at,
	const char *fmt, ...)
{
	char what[64];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	snprintf(r->error, sizeof(r->error), "invalid value: %s at byte %zu",
		what, (size_t)(at - r->start));
	r->at = r->end = NULL; /* every later call fails too */
	return -1;
}

static size_t bytes_left(const struct wisp_value_reader *r)
{
	return (size_t)(r->end - r->at);
}

/* n bytes of a field of the value that began at at, or NULL. */
static const uint8_t *take(struct wisp_value_reader *r, const uint8_t *at,
	size_t n, const char *what)
{
	if (r->at == NULL || bytes_left(r) < n) {
		if (r->at)
			bad(r, at, "truncated %s", what);
		return NULL;
	}
	const uint8_t *b = r->at;
	r->at += n;
	return b;
}

static int get_count(struct wisp_value_reader *r, const char *what,
	uint64_t *out)
{
	const uint8_t *at = r->at;
	uint64_t v = 0;
	for (int shift = 0;; shift += 7) {
		const uint8_t *b = take(r, at, 1, what);
		if (b == NULL)
			return -1;
		if (shift == 63 && *b > 1)
			return bad(r, at, "%s longer than 64 bits", what);
		v |= (uint64_t)(*b & 0x7f) << shift;
		if (*b < 0x80) {
			*out = v;
			return 0;
		}
	}
}

int64_t wisp_value_read(struct wisp_value_reader *r, const void *data,
	size_t size)
{
	memset(r, 0, offsetof(struct wisp_value_reader, left));
	r->error[0] = '\0';
	r->start = r->at = size ? data : (const void *)"";
	r->end = r->at + size;
	if (get_count(r, "value count", &r->count) < 0)
		return -1;
	if (r->count > bytes_left(r))
		return bad(r, r->start, "value count %llu past the end",
			(unsigned long long)r->count);
	r->owed = r->left[0] = r->count;
	return (int64_t)r->count;
}

static int read_table(struct wisp_value_reader *r, const uint8_t *at,
	struct wisp_value *v)
{
	uint64_t narr, nhash;
	if (get_count(r, "array count", &narr) < 0
		|| get_count(r, "hash count", &nhash) < 0)
		return -1;
	size_t room = r->owed <= bytes_left(r) ? bytes_left(r) - r->owed : 0;
	if (narr > room || nhash > (room - narr) / 2)
		return bad(r, at, "table of %llu+%llu entries past the end",
			(unsigned long long)narr, (unsigned long long)nhash);
	if (r->depth == WISP_VALUE_DEPTH_MAX)
		return bad(r, at, "tables nested deeper than %d",
			WISP_VALUE_DEPTH_MAX);
	v->type = WISP_VALUE_TABLE;
	v->as.table.narr = narr;
	v->as.table.nhash = nhash;
	r->owed += narr + 2 * nhash;
	r->depth++;
	r->left[r->depth] = narr + 2 * nhash;
	r->pairs[r->depth] = 2 * nhash;
	return 1;
}

static int read_string(struct wisp_value_reader *r, const uint8_t *at,
	uint64_t n, struct wisp_value *v)
{
	if (n > bytes_left(r))
		return bad(r, at, "string of %llu bytes past the end",
			(unsigned long long)n);
	v->type = WISP_VALUE_STRING;
	v->as.string.data = (const char *)r->at;
	v->as.string.size = (size_t)n;
	r->at += n;
	return 1;
}

static int read_fixed(struct wisp_value_reader *r, const uint8_t *at,
	unsigned tag, struct wisp_value *v)
{
	static const int sizes[] = { 1, 2, 4, 8 };
	if (tag == TAG_FLOAT) {
		const uint8_t *b = take(r, at, 8, "float");
		if (b == NULL)
			return -1;
		uint64_t bits = value_get_le(b, 8);
		v->type = WISP_VALUE_FLOAT;
		memcpy(&v->as.number, &bits, sizeof(bits));
		return 1;
	}
	int n = sizes[tag - TAG_INT8];
	const uint8_t *b = take(r, at, (size_t)n, "integer");
	if (b == NULL)
		return -1;
	uint64_t bits = value_get_le(b, n);
	int shift = 64 - 8 * n; /* sign-extends the n bytes */
	v->type = WISP_VALUE_INTEGER;
	v->as.integer = (int64_t)(bits << shift) >> shift;
	return 1;
}

static int read_tagged(struct wisp_value_reader *r, const uint8_t *at,
	unsigned tag, struct wisp_value *v)
{
	uint64_t n;
	switch (tag) {
	case TAG_NIL:
		v->type = WISP_VALUE_NIL;
		return 1;
	case TAG_FALSE:
	case TAG_TRUE:
		v->type = WISP_VALUE_BOOLEAN;
		v->as.boolean = tag == TAG_TRUE;
		return 1;
	case TAG_INT8: case TAG_INT16: case TAG_INT32: case TAG_INT64:
	case TAG_FLOAT:
		return read_fixed(r, at, tag, v);
	case TAG_STRING:
		return get_count(r, "string length", &n) < 0 ? -1
			: read_string(r, at, n, v);
	case TAG_TABLE:
		return read_table(r, at, v);
	default:
		return bad(r, at, "bad tag 0x%02x", tag);
	}
}

/* The next item of the open table is a key of its hash part: those
 * alternate with their values after the array items. */
static int at_key(const struct wisp_value_reader *r)
{
	uint64_t left = r->left[r->depth];
	return r->depth > 0 && left <= r->pairs[r->depth] && left % 2 == 0;
}

/* A key may not be nil or NaN: Lua could not index a table by it. */
static int check_key(struct wisp_value_reader *r, const uint8_t *at,
	const struct wisp_value *v)
{
	if (v->type == WISP_VALUE_NIL)
		return bad(r, at, "nil table key");
	if (v->type == WISP_VALUE_FLOAT && isnan(v->as.number))
		return bad(r, at, "NaN table key");
	return 1;
}

static int read_value(struct wisp_value_reader *r, const uint8_t *at,
	struct wisp_value *v)
{
	const uint8_t *b = take(r, at, 1, "value");
	if (b == NULL)
		return -1;
	unsigned tag = *b;
	if (tag <= TAG_FIXINT_MAX || tag >= TAG_NEGINT) {
		v->type = WISP_VALUE_INTEGER;
		v->as.integer = tag <= TAG_FIXINT_MAX ? tag : (int64_t)tag - 256;
		return 1;
	}
	if (tag < TAG_RESERVED)
		return read_string(r, at, tag - TAG_FIXSTR, v);
	return read_tagged(r, at, tag, v);
}

int wisp_value_next(struct wisp_value_reader *r, struct wisp_value *v)
{
	if (r->at == NULL)
		return -1;
	if (r->depth == 0 && r->left[0] == 0)
		return r->at == r->end ? 0 : bad(r, r->at, "trailing garbage");
	const uint8_t *at = r->at;
	int key = at_key(r);
	int depth = r->depth;
	r->left[depth]--;
	r->owed--;
	if (read_value(r, at, v) < 0 || (key && check_key(r, at, v) < 0))
		return -1;
	v->depth = depth;
	while (r->depth > 0 && r->left[r->depth] == 0)
		r->depth--; /* an empty table, or those this value ended */
	return 1;
}

int wisp_value_skip(struct wisp_value_reader *r)
{
	struct wisp_value v;
	int depth = r->depth;
	int rc = wisp_value_next(r, &v);
	while (rc == 1 && r->depth > depth)
		rc = wisp_value_next(r, &v);
	return rc;
}

const char *wisp_value_error(const struct wisp_value_reader *r)
{
	return r->error;
}

/* ---- writing ---- */

void wisp_value_begin(struct wisp_value_writer *w)
{
	memset(w, 0, offsetof(struct wisp_value_writer, left));
	w->len = COUNT_MAX; /* the count goes there at the end */
}

/* Room for n more bytes, and the value they start counted where it is. */
static uint8_t *room(struct wisp_value_writer *w, size_t n)
{
	if (w->len + n > w->cap) {
		size_t cap = w->cap ? w->cap : 64;
		while (w->len + n > cap)
			cap *= 2;
		w->buf = wisp_realloc(w->buf, cap);
		w->cap = cap;
	}
	if (w->depth == 0)
		w->count++;
	else if (w->left[w->depth] == 0)
		w->failed = 1; /* more than the table announced */
	else
		w->left[w->depth]--;
	return w->buf + w->len;
}

/* The tables the value just written was the last item of. */
static void close_tables(struct wisp_value_writer *w)
{
	while (w->depth > 0 && w->left[w->depth] == 0)
		w->depth--;
}

static void put_byte(struct wisp_value_writer *w, uint8_t tag)
{
	*room(w, 1) = tag;
	w->len++;
	close_tables(w);
}

void wisp_value_nil(struct wisp_value_writer *w)
{
	put_byte(w, TAG_NIL);
}

void wisp_value_boolean(struct wisp_value_writer *w, int b)
{
	put_byte(w, b ? TAG_TRUE : TAG_FALSE);
}

void wisp_value_integer(struct wisp_value_writer *w, int64_t i)
{
	w->len += value_put_integer(room(w, VALUE_HEAD_MAX), i);
	close_tables(w);
}

void wisp_value_float(struct wisp_value_writer *w, double d)
{
	uint64_t bits;
	memcpy(&bits, &d, sizeof(bits));
	uint8_t *b = room(w, 9);
	b[0] = TAG_FLOAT;
	value_put_le(b + 1, bits, 8);
	w->len += 9;
	close_tables(w);
}

void wisp_value_string(struct wisp_value_writer *w, const void *data,
	size_t size)
{
	uint8_t *b = room(w, 1 + COUNT_MAX + size);
	size_t head = 1;
	if (size <= FIXSTR_MAX) {
		b[0] = (uint8_t)(TAG_FIXSTR | size);
	} else {
		b[0] = TAG_STRING;
		head += value_put_count(b + 1, size);
	}
	if (size)
		memcpy(b + head, data, size);
	w->len += head + size;
	close_tables(w);
}

void wisp_value_cstring(struct wisp_value_writer *w, const char *s)
{
	wisp_value_string(w, s, strlen(s));
}

void wisp_value_table(struct wisp_value_writer *w, uint64_t narr,
	uint64_t nhash)
{
	uint8_t *b = room(w, 1 + 2 * COUNT_MAX);
	b[0] = TAG_TABLE;
	size_t n = 1 + value_put_count(b + 1, narr);
	n += value_put_count(b + n, nhash);
	w->len += n;
	if (w->depth == WISP_VALUE_DEPTH_MAX || nhash > (UINT64_MAX - narr) / 2) {
		w->failed = 1;
		return;
	}
	w->depth++;
	w->left[w->depth] = narr + 2 * nhash;
	close_tables(w); /* an empty one is whole already */
}

void *wisp_value_end(struct wisp_value_writer *w, size_t *size)
{
	uint8_t *buf = w->buf;
	if (w->failed || w->depth > 0) {
		wisp_free(buf);
		wisp_value_begin(w);
		return NULL;
	}
	if (buf == NULL)
		buf = wisp_malloc(COUNT_MAX);
	uint8_t count[COUNT_MAX];
	size_t n = value_put_count(count, w->count);
	memmove(buf + n, buf + COUNT_MAX, w->len - COUNT_MAX);
	memcpy(buf, count, n);
	*size = w->len - COUNT_MAX + n;
	wisp_value_begin(w);
	return buf;
}
