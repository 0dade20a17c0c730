/* value.c: packs Lua values into the byte format of VALUE.md and back.
 * Every Lua message goes through here twice, so a small message costs one
 * malloc to pack (it is built on the C stack first) and the decoder checks
 * each length against the bytes left before it allocates anything. */
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <lauxlib.h>
#include "proto_alloc.h"
#include "value.h"
#include "value_format.h"

#define LOCAL_BUF 256  /* most messages fit here and never grow */

/* Packing. The packer remembers the tables on the current path: that is
 * how it finds cycles, and how its errors say where the bad value is.
 * Tables are read raw and the API calls used here do not raise, so the
 * only errors mid-pack are fail()'s own, which free the buffer first. */

struct level {
	const void *table;
	int key;           /* stack index of the hash key; 0 in the array part */
	lua_Integer index; /* the array index, when key is 0 */
	int in_key;        /* the key itself is being packed */
};

struct packer {
	lua_State *L;
	unsigned char *buf;
	size_t len, cap;
	int arg;
	int depth;
	struct level path[WISP_VALUE_MAX_DEPTH];
	unsigned char local[LOCAL_BUF];
};

/* Appends to out (of size bytes, len used), truncating quietly. */
static size_t add(char *out, size_t size, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static size_t add(char *out, size_t size, size_t len, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	size_t n = (size_t)vsnprintf(out + len, size - len, fmt, ap);
	va_end(ap);
	return len + n < size ? len + n : size - 1;
}

static int is_name(const char *s, size_t n)
{
	if (n == 0 || (s[0] >= '0' && s[0] <= '9'))
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!(s[i] == '_' || (s[i] >= 'a' && s[i] <= 'z')
				|| (s[i] >= 'A' && s[i] <= 'Z')
				|| (s[i] >= '0' && s[i] <= '9')))
			return 0;
	return 1;
}

static int is_printable(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] < ' ' || s[i] > '~' || s[i] == '"')
			return 0;
	return 1;
}

/* One step of a path in Lua syntax: .name, ["some key"], [3], [true]. */
static size_t add_step(lua_State *L, const struct level *lv, char *out,
	size_t size, size_t len)
{
	if (lv->key == 0)
		return add(out, size, len, "[%lld]", (long long)lv->index);
	if (lv->in_key)
		return add(out, size, len, "{key}");
	size_t n;
	const char *s;
	switch (lua_type(L, lv->key)) {
	case LUA_TSTRING:
		s = lua_tolstring(L, lv->key, &n);
		if (is_name(s, n))
			return add(out, size, len, ".%.40s", s);
		if (is_printable(s, n))
			return add(out, size, len, "[\"%.40s\"]", s);
		return add(out, size, len, "[string]");
	case LUA_TNUMBER:
		if (lua_isinteger(L, lv->key))
			return add(out, size, len, "[%lld]",
				(long long)lua_tointeger(L, lv->key));
		return add(out, size, len, "[%.14g]", lua_tonumber(L, lv->key));
	case LUA_TBOOLEAN:
		return add(out, size, len, lua_toboolean(L, lv->key) ? "[true]" : "[false]");
	default:
		return add(out, size, len, "[%s]", luaL_typename(L, lv->key));
	}
}

/* "in argument 2, at a.cb[3]". When the fault is a key, the path ends at
 * the table holding it. */
static void describe(struct packer *p, char *out, size_t size)
{
	size_t len = add(out, size, 0, "in argument %d", p->arg);
	int steps = p->depth;
	if (steps > 0 && p->path[steps - 1].in_key)
		steps--;
	if (steps == 0)
		return;
	len = add(out, size, len, ", at ");
	size_t first = len;
	for (int i = 0; i < steps; i++)
		len = add_step(p->L, &p->path[i], out, size, len);
	if (out[first] == '.') /* the path reads "a.b", not ".a.b" */
		memmove(out + first, out + first + 1, len - first);
}

/* Frees the buffer, then raises the error with where it happened. */
static void fail(struct packer *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void fail(struct packer *p, const char *fmt, ...)
{
	char what[64], where[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	describe(p, where, sizeof where);
	if (p->buf != p->local)
		wisp_proto_free(p->buf);
	luaL_error(p->L, "%s (%s)", what, where);
}

/* Moves the buffer to the heap, or doubles it, until n more bytes fit. */
static void grow(struct packer *p, size_t n)
{
	size_t cap = p->cap * 2;
	while (cap - p->len < n)
		cap *= 2;
	if (p->buf == p->local)
		p->buf = memcpy(wisp_proto_malloc(cap), p->local, p->len);
	else
		p->buf = wisp_proto_realloc(p->buf, cap);
	p->cap = cap;
}

static inline unsigned char *reserve(struct packer *p, size_t n)
{
	if (p->cap - p->len < n)
		grow(p, n);
	return p->buf + p->len;
}

static void pack_byte(struct packer *p, unsigned char tag)
{
	*reserve(p, 1) = tag;
	p->len++;
}

static void pack_integer(struct packer *p, lua_Integer v)
{
	p->len += value_put_integer(reserve(p, VALUE_HEAD_MAX), v);
}

static void pack_float(struct packer *p, double v)
{
	uint64_t bits;
	memcpy(&bits, &v, sizeof bits);
	unsigned char *b = reserve(p, 9);
	b[0] = TAG_FLOAT;
	value_put_le(b + 1, bits, 8);
	p->len += 9;
}

static void pack_string(struct packer *p, int idx)
{
	size_t n;
	const char *s = lua_tolstring(p->L, idx, &n);
	unsigned char *b = reserve(p, 1 + COUNT_MAX + n);
	size_t head = 1;
	if (n <= FIXSTR_MAX) {
		b[0] = (unsigned char)(TAG_FIXSTR | n);
	} else {
		b[0] = TAG_STRING;
		head += value_put_count(b + 1, n);
	}
	memcpy(b + head, s, n);
	p->len += head + n;
}

/* Pushes table t on the path, refusing cycles and excess depth. */
static struct level *enter(struct packer *p, const void *t)
{
	if (p->depth == WISP_VALUE_MAX_DEPTH)
		fail(p, "cannot serialize tables nested deeper than %d",
			WISP_VALUE_MAX_DEPTH);
	for (int i = 0; i < p->depth; i++)
		if (p->path[i].table == t)
			fail(p, "cannot serialize a table cycle");
	if (!lua_checkstack(p->L, 2))
		fail(p, "cannot serialize: Lua stack overflow");
	struct level *lv = &p->path[p->depth++];
	lv->table = t;
	lv->in_key = 0;
	return lv;
}

/* The hash count is known only after the traversal: one byte was left for
 * it, and a table with 128 entries or more shifts its body to make room. */
static void patch_count(struct packer *p, size_t at, uint64_t n)
{
	unsigned char count[COUNT_MAX];
	size_t w = value_put_count(count, n);
	if (w > 1) {
		reserve(p, w - 1);
		memmove(p->buf + at + w, p->buf + at + 1, p->len - at - 1);
		p->len += w - 1;
	}
	memcpy(p->buf + at, count, w);
}

static void pack_value(struct packer *p, int idx);

/* Items 1..#t, then every other key with its value. */
static void pack_table(struct packer *p, int idx)
{
	lua_State *L = p->L;
	struct level *lv = enter(p, lua_topointer(L, idx));
	lua_Integer n = (lua_Integer)lua_rawlen(L, idx);
	unsigned char *b = reserve(p, 2 + COUNT_MAX);
	b[0] = TAG_TABLE;
	size_t at = p->len + 1 + value_put_count(b + 1, (uint64_t)n);
	p->len = at + 1;
	int top = lua_gettop(L) + 1; /* items, then keys, go here */
	lv->key = 0;
	for (lv->index = 1; lv->index <= n; lv->index++) {
		lua_rawgeti(L, idx, lv->index);
		pack_value(p, top);
		lua_pop(L, 1);
	}
	uint64_t nhash = 0;
	lv->key = top;
	lua_pushnil(L);
	while (lua_next(L, idx)) {
		lua_Integer k;
		if (!lua_isinteger(L, top) || (k = lua_tointeger(L, top)) < 1 || k > n) {
			lv->in_key = 1;
			pack_value(p, top);
			lv->in_key = 0;
			pack_value(p, top + 1);
			nhash++;
		}
		lua_pop(L, 1);
	}
	patch_count(p, at, nhash);
	p->depth--;
}

static void pack_value(struct packer *p, int idx)
{
	lua_State *L = p->L;
	int type = lua_type(L, idx);
	switch (type) {
	case LUA_TNIL:
		pack_byte(p, TAG_NIL);
		break;
	case LUA_TBOOLEAN:
		pack_byte(p, lua_toboolean(L, idx) ? TAG_TRUE : TAG_FALSE);
		break;
	case LUA_TNUMBER:
		if (lua_isinteger(L, idx))
			pack_integer(p, lua_tointeger(L, idx));
		else
			pack_float(p, lua_tonumber(L, idx));
		break;
	case LUA_TSTRING:
		pack_string(p, idx);
		break;
	case LUA_TTABLE:
		pack_table(p, idx);
		break;
	default:
		fail(p, "cannot serialize a %s%s", lua_typename(L, type),
			p->depth > 0 && p->path[p->depth - 1].in_key ? " key" : "");
	}
}

void *wisp_value_pack(lua_State *L, int from, int to, size_t *sz)
{
	struct packer p;
	p.L = L;
	p.buf = p.local;
	p.cap = sizeof p.local;
	p.depth = 0;
	/* Only negative indexes are relative: to == 0 means an empty range. */
	if (from < 0)
		from = lua_absindex(L, from);
	if (to < 0)
		to = lua_absindex(L, to);
	p.len = value_put_count(p.buf, from > to ? 0 : (uint64_t)(to - from + 1));
	for (p.arg = from; p.arg <= to; p.arg++)
		pack_value(&p, p.arg);
	*sz = p.len;
	if (p.buf == p.local)
		return memcpy(wisp_proto_malloc(p.len), p.local, p.len);
	return p.buf;
}

/* Unpacking. owed counts the values announced (by the header or a table)
 * and not yet begun; each takes at least one byte, so a table announcing
 * more than the bytes left can pay for is refused before it is allocated.
 * That bounds what forged counts can make Lua allocate by the input size. */

struct unpacker {
	lua_State *L;
	const unsigned char *start, *p, *end;
	size_t owed;
	int depth;
};

static void bad(struct unpacker *u, const unsigned char *at, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void bad(struct unpacker *u, const unsigned char *at, const char *fmt, ...)
{
	char what[96];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	luaL_error(u->L, "invalid packed value: %s at byte %I", what,
		(lua_Integer)(at - u->start));
}

static size_t left(const struct unpacker *u)
{
	return (size_t)(u->end - u->p);
}

/* Takes n bytes of a fixed-size field that began at at. */
static const unsigned char *take(struct unpacker *u, const unsigned char *at,
	size_t n, const char *what)
{
	if (left(u) < n)
		bad(u, at, "truncated %s", what);
	const unsigned char *b = u->p;
	u->p += n;
	return b;
}

static uint64_t get_count(struct unpacker *u, const char *what)
{
	const unsigned char *at = u->p;
	uint64_t v = 0;
	for (int shift = 0;; shift += 7) {
		unsigned b = *take(u, at, 1, what);
		if (shift == 63 && b > 1)
			bad(u, at, "%s longer than 64 bits", what);
		v |= (uint64_t)(b & 0x7f) << shift;
		if (b < 0x80)
			return v;
	}
}

static double get_float(const unsigned char *b)
{
	uint64_t bits = value_get_le(b, 8);
	double v;
	memcpy(&v, &bits, sizeof v);
	return v;
}

static void unpack_string(struct unpacker *u, const unsigned char *at, uint64_t n)
{
	if (n > left(u))
		bad(u, at, "string of %llu bytes past the end", (unsigned long long)n);
	lua_pushlstring(u->L, (const char *)u->p, (size_t)n);
	u->p += n;
}

/* A table size is only a hint to Lua, so it may be clamped. */
static int size_hint(uint64_t n)
{
	return n < INT_MAX ? (int)n : INT_MAX;
}

static void unpack_value(struct unpacker *u);

/* The key just decoded from k: nil and NaN cannot index a table. */
static void check_key(struct unpacker *u, const unsigned char *k)
{
	if (*k == TAG_NIL)
		bad(u, k, "nil table key");
	if (*k == TAG_FLOAT && isnan(get_float(k + 1)))
		bad(u, k, "NaN table key");
}

static void unpack_table(struct unpacker *u, const unsigned char *at)
{
	lua_State *L = u->L;
	uint64_t narr = get_count(u, "array count");
	uint64_t nhash = get_count(u, "hash count");
	size_t room = u->owed <= left(u) ? left(u) - u->owed : 0;
	if (narr > room || nhash > (room - narr) / 2)
		bad(u, at, "table of %llu+%llu entries past the end",
			(unsigned long long)narr, (unsigned long long)nhash);
	if (u->depth == WISP_VALUE_MAX_DEPTH)
		bad(u, at, "tables nested deeper than %d", WISP_VALUE_MAX_DEPTH);
	if (!lua_checkstack(L, 3))
		bad(u, at, "Lua stack overflow");
	u->owed += narr + 2 * nhash;
	u->depth++;
	lua_createtable(L, size_hint(narr), size_hint(nhash));
	for (uint64_t i = 1; i <= narr; i++) {
		unpack_value(u);
		lua_rawseti(L, -2, (lua_Integer)i);
	}
	for (; nhash > 0; nhash--) {
		const unsigned char *k = u->p;
		unpack_value(u);
		check_key(u, k);
		unpack_value(u);
		lua_rawset(L, -3);
	}
	u->depth--;
}

static void unpack_value(struct unpacker *u)
{
	lua_State *L = u->L;
	const unsigned char *at = u->p;
	unsigned tag = *take(u, at, 1, "value");
	u->owed--;
	if (tag <= TAG_FIXINT_MAX) {
		lua_pushinteger(L, tag);
		return;
	}
	if (tag >= TAG_NEGINT) {
		lua_pushinteger(L, (lua_Integer)tag - 256);
		return;
	}
	if (tag < TAG_RESERVED) {
		unpack_string(u, at, tag - TAG_FIXSTR);
		return;
	}
	switch (tag) {
	case TAG_NIL:
		lua_pushnil(L);
		break;
	case TAG_FALSE:
	case TAG_TRUE:
		lua_pushboolean(L, tag == TAG_TRUE);
		break;
	case TAG_INT8:
		lua_pushinteger(L, (int8_t)*take(u, at, 1, "integer"));
		break;
	case TAG_INT16:
		lua_pushinteger(L, (int16_t)value_get_le(take(u, at, 2, "integer"), 2));
		break;
	case TAG_INT32:
		lua_pushinteger(L, (int32_t)value_get_le(take(u, at, 4, "integer"), 4));
		break;
	case TAG_INT64:
		lua_pushinteger(L, (int64_t)value_get_le(take(u, at, 8, "integer"), 8));
		break;
	case TAG_FLOAT:
		lua_pushnumber(L, get_float(take(u, at, 8, "float")));
		break;
	case TAG_STRING:
		unpack_string(u, at, get_count(u, "string length"));
		break;
	case TAG_TABLE:
		unpack_table(u, at);
		break;
	default:
		bad(u, at, "bad tag 0x%02x", tag);
	}
}

int wisp_value_unpack(lua_State *L, const void *data, size_t sz)
{
	struct unpacker u;
	u.L = L;
	u.start = u.p = sz ? data : (const void *)""; /* no arithmetic on NULL */
	u.end = u.p + sz;
	u.owed = 0;
	u.depth = 0;
	uint64_t n = get_count(&u, "value count");
	if (n > left(&u))
		bad(&u, u.start, "value count %llu past the end", (unsigned long long)n);
	if (n > INT_MAX || !lua_checkstack(L, (int)n))
		bad(&u, u.start, "too many values (%llu)", (unsigned long long)n);
	u.owed = n;
	for (uint64_t i = 0; i < n; i++)
		unpack_value(&u);
	if (u.p != u.end)
		bad(&u, u.p, "trailing garbage");
	return (int)n;
}
