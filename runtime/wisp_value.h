/* wisp_value.h: Lua's messages for C services, part of the public API
 * (wisp.h includes it). A Lua service's wisp.send and wisp.call carry
 * WISP_MSG_LUA payloads of values in the format of proto/VALUE.md; a C
 * service reads them with a reader and answers (WISP_MSG_RESPONSE, the
 * call's session) with what a writer made, no lua_State needed.
 *
 * Reading is a walk: each wisp_value_next gives the next value in the
 * order of the bytes. A table gives its counts first; its narr array
 * items then follow, then its nhash keys and values, alternating. Every
 * length and count is checked against the bytes left before it is
 * believed, tables nest at most WISP_VALUE_DEPTH_MAX deep, and a string
 * points into the message (valid while it is). */
#ifndef WISP_VALUE_PUBLIC_H
#define WISP_VALUE_PUBLIC_H

#include <stddef.h>
#include <stdint.h>

#define WISP_VALUE_DEPTH_MAX 100 /* VALUE.md's limit on nested tables */

enum wisp_value_type {
	WISP_VALUE_NIL,
	WISP_VALUE_BOOLEAN,
	WISP_VALUE_INTEGER,
	WISP_VALUE_FLOAT,
	WISP_VALUE_STRING,
	WISP_VALUE_TABLE,
};

struct wisp_value {
	enum wisp_value_type type;
	int depth;          /* the tables it is in: 0 for a value of the message */
	union {
		int boolean;
		int64_t integer;
		double number;
		struct { const char *data; size_t size; } string;
		struct { uint64_t narr, nhash; } table;
	} as;
};

struct wisp_value_reader {
	const uint8_t *start, *at, *end;
	uint64_t count;     /* the message's values */
	uint64_t owed;      /* values announced and not yet read, all levels */
	int depth;
	uint64_t left[WISP_VALUE_DEPTH_MAX + 1];  /* items each level still has */
	uint64_t pairs[WISP_VALUE_DEPTH_MAX + 1]; /* and in its hash part */
	char error[96];
};

/* Starts reading data[0..size): the number of values the message holds,
 * or -1 when even its count is wrong (wisp_value_error says why). */
int64_t wisp_value_read(struct wisp_value_reader *r, const void *data,
	size_t size);
/* The next value into v: 1; 0 once every value is read and the message
 * ended there; -1 when the bytes are not a well-formed message (the
 * error names the fault and its byte offset; every later call is -1). */
int wisp_value_next(struct wisp_value_reader *r, struct wisp_value *v);
/* Reads the next value whole, a table with all it holds: 1, 0 or -1. */
int wisp_value_skip(struct wisp_value_reader *r);
const char *wisp_value_error(const struct wisp_value_reader *r);

/* A message being written: values one after the other, a table as
 * wisp_value_table(narr, nhash) followed by exactly narr + 2 * nhash
 * values. Out of memory aborts, as everywhere in wisp. */
struct wisp_value_writer {
	uint8_t *buf;
	size_t len, cap;
	uint64_t count;    /* values of the message so far */
	int depth, failed;
	uint64_t left[WISP_VALUE_DEPTH_MAX + 1];
};

void wisp_value_begin(struct wisp_value_writer *w);
void wisp_value_nil(struct wisp_value_writer *w);
void wisp_value_boolean(struct wisp_value_writer *w, int b);
void wisp_value_integer(struct wisp_value_writer *w, int64_t i);
void wisp_value_float(struct wisp_value_writer *w, double d);
void wisp_value_string(struct wisp_value_writer *w, const void *data,
	size_t size);
void wisp_value_cstring(struct wisp_value_writer *w, const char *s);
/* Fails the writer past WISP_VALUE_DEPTH_MAX. */
void wisp_value_table(struct wisp_value_writer *w, uint64_t narr,
	uint64_t nhash);
/* The message, from wisp_malloc (for wisp_send, which takes it), and its
 * size; NULL when a table is short of values or nested too deep. The
 * writer is empty again either way. */
void *wisp_value_end(struct wisp_value_writer *w, size_t *size);

#endif
