/* value_format.h: the bytes of VALUE.md that every codec of it shares:
 * the tags, the little-endian fields and the varints. proto/value.c packs
 * Lua values with them; runtime/value_stream.c reads and writes the same
 * bytes for C services, which have no lua_State. */
#ifndef WISP_VALUE_FORMAT_H
#define WISP_VALUE_FORMAT_H

#include <stddef.h>
#include <stdint.h>

enum {
	TAG_FIXINT_MAX = 0x7f, /* 0x00-0x7f: the integers 0..127 */
	TAG_FIXSTR = 0x80,     /* 0x80-0x9f: strings of 0..31 bytes */
	TAG_RESERVED = 0xa0,   /* 0xa0-0xbf and 0xca-0xdf are not used */
	TAG_NIL = 0xc0,
	TAG_FALSE = 0xc1,
	TAG_TRUE = 0xc2,
	TAG_INT8 = 0xc3,
	TAG_INT16 = 0xc4,
	TAG_INT32 = 0xc5,
	TAG_INT64 = 0xc6,
	TAG_FLOAT = 0xc7,
	TAG_STRING = 0xc8,
	TAG_TABLE = 0xc9,
	TAG_NEGINT = 0xe0,     /* 0xe0-0xff: the integers -32..-1 */
};

#define FIXSTR_MAX 31
#define COUNT_MAX 10   /* bytes in the longest varint: 64 bits, 7 a byte */
#define VALUE_HEAD_MAX 9 /* a tag and the longest number after it */

static inline void value_put_le(unsigned char *b, uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		b[i] = (unsigned char)(v >> (8 * i));
}

static inline uint64_t value_get_le(const unsigned char *b, int n)
{
	uint64_t v = 0;
	for (int i = 0; i < n; i++)
		v |= (uint64_t)b[i] << (8 * i);
	return v;
}

/* Counts and lengths are varints: 7 bits a byte, low bits first, the high
 * bit set on every byte but the last. Returns the bytes written (at most
 * COUNT_MAX). */
static inline size_t value_put_count(unsigned char *b, uint64_t v)
{
	size_t n = 0;
	for (; v >= 0x80; v >>= 7)
		b[n++] = (unsigned char)(v | 0x80);
	b[n++] = (unsigned char)v;
	return n;
}

/* The integer v in its shortest form at b: the bytes written (1 to 9). */
static inline size_t value_put_integer(unsigned char *b, int64_t v)
{
	if (v >= 0 && v <= TAG_FIXINT_MAX) {
		b[0] = (unsigned char)v;
		return 1;
	}
	if (v >= -32 && v < 0) {
		b[0] = (unsigned char)(v + 256);
		return 1;
	}
	int n = v >= INT8_MIN && v <= INT8_MAX ? 1
		: v >= INT16_MIN && v <= INT16_MAX ? 2
		: v >= INT32_MIN && v <= INT32_MAX ? 4 : 8;
	b[0] = (unsigned char)(n == 1 ? TAG_INT8 : n == 2 ? TAG_INT16
		: n == 4 ? TAG_INT32 : TAG_INT64);
	value_put_le(b + 1, (uint64_t)v, n);
	return 1 + (size_t)n;
}

#endif
