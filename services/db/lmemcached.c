/* lmemcached.c: `wisp.memcached`, a memcached client over libmemcached
 * for the db service's row cache. Calls block the node's only thread, so
 * every one is bounded by the client's timeout, and a server that failed
 * is skipped for a second instead of being waited for on every call.
 * Values at or over a size are stored zstd-compressed, marked by a flag
 * bit, and decompressed on the way back. A failure is never mistaken for
 * a miss: a get answers a value, false (a miss) or nil and an error. */
#include <lauxlib.h>
#include <libmemcached/memcached.h>
#include <string.h>
#include <time.h>
#include <zstd.h>
#include "addr.h"
#include "host.h"
#include "wisp.h"

#define CLIENT "wisp.memcached"
#define FLAG_ZSTD (1u << 16) /* the stored value is one zstd frame */
#define KEY_MAX 250          /* memcached's limit */
#define VALUE_MAX (64u << 20) /* larger values are refused both ways */
#define SERVERS_MAX 100      /* libmemcached polls at most 100 servers */
#define HOST_MAX 256
#define DEFAULT_PORT 11211
#define RETRY_S 1            /* a failed server is tried again after this */
#define STALL_MAX 8
#define SCRATCH_KEEP (2u << 20) /* a larger scratch buffer is not kept */
#define ZSTD_LEVEL 1         /* speed over ratio: the node waits for it */
#define MONTH (30 * 24 * 3600) /* memcached reads a longer ttl as a date */
#define TTL_MAX (10 * 365 * 24 * 3600)

/* A server that timed out, skipped until a time (wisp_now). libmemcached
 * itself only skips servers it could not connect to: one that accepts
 * but does not answer would cost the whole timeout on every call. */
struct stall {
	const memcached_instance_st *server;
	uint64_t until;
};

struct client {
	memcached_st mc;
	memcached_result_st result; /* reused by every fetch */
	ZSTD_CCtx *cctx;            /* created when first needed, then kept */
	ZSTD_DCtx *dctx;
	char *scratch;              /* compressed or decompressed bytes */
	size_t scratch_cap;
	const char **keys;          /* mget's key vectors, grown and kept */
	size_t *lens;
	size_t keys_cap;
	size_t compress_min;        /* 0: never compress */
	struct stall stalls[STALL_MAX];
	int nstalls;
	int made;                   /* mc and result need freeing */
	int open;
	/* A call was cut short by a Lua error (out of memory) in the middle
	 * of reading replies: the next call starts on fresh connections. */
	int busy;
};

/* What a call was about, for its error text and for recovering. */
struct call {
	const char *op;
	const char *const *keys;
	const size_t *lens;
	size_t n;
};

struct options {
	int timeout_ms;
	lua_Integer compress;
	int binary;
};

/* Memory */

static char *scratch(struct client *c, size_t size)
{
	if (size > c->scratch_cap || c->scratch == NULL) {
		wisp_free(c->scratch);
		c->scratch = wisp_malloc(size);
		c->scratch_cap = size;
	}
	return c->scratch;
}

static void scratch_trim(struct client *c)
{
	if (c->scratch_cap > SCRATCH_KEEP) {
		wisp_free(c->scratch);
		c->scratch = NULL;
		c->scratch_cap = 0;
	}
}

static void reserve_keys(struct client *c, size_t n)
{
	if (n <= c->keys_cap)
		return;
	wisp_free(c->keys);
	wisp_free(c->lens);
	c->keys = wisp_malloc(n * sizeof(*c->keys));
	c->lens = wisp_malloc(n * sizeof(*c->lens));
	c->keys_cap = n;
}

static void release(struct client *c)
{
	if (c->made) {
		memcached_result_free(&c->result);
		memcached_free(&c->mc);
		c->made = 0;
	}
	ZSTD_freeCCtx(c->cctx);
	ZSTD_freeDCtx(c->dctx);
	c->cctx = NULL;
	c->dctx = NULL;
	wisp_free(c->scratch);
	wisp_free(c->keys);
	wisp_free(c->lens);
	c->scratch = NULL;
	c->keys = NULL;
	c->lens = NULL;
	c->scratch_cap = c->keys_cap = 0;
	c->open = 0;
}

/* Compression */

/* The bytes to store for value: compressed into the scratch buffer when
 * the client compresses values this big and it makes them smaller. */
static const char *pack(struct client *c, const char *value, size_t size,
	size_t *out, uint32_t *flags)
{
	*out = size;
	*flags = 0;
	if (c->compress_min == 0 || size < c->compress_min)
		return value;
	if (c->cctx == NULL) {
		c->cctx = ZSTD_createCCtx();
		if (c->cctx == NULL)
			return value;
		ZSTD_CCtx_setParameter(c->cctx, ZSTD_c_compressionLevel, ZSTD_LEVEL);
		/* a damaged value must fail to decompress, not come back wrong */
		ZSTD_CCtx_setParameter(c->cctx, ZSTD_c_checksumFlag, 1);
	}
	size_t bound = ZSTD_compressBound(size);
	size_t n = ZSTD_compress2(c->cctx, scratch(c, bound), bound, value, size);
	if (ZSTD_isError(n) || n >= size)
		return value;
	*out = n;
	*flags = FLAG_ZSTD;
	return c->scratch;
}

/* Decompresses a stored frame into the scratch buffer: its size, or -1
 * if it is not one whole frame of a size we accept. */
static long long unpack(struct client *c, const char *data, size_t n)
{
	unsigned long long size = ZSTD_getFrameContentSize(data, n);
	/* also catches ZSTD_CONTENTSIZE_UNKNOWN and _ERROR, both huge */
	if (size > VALUE_MAX)
		return -1;
	if (c->dctx == NULL && (c->dctx = ZSTD_createDCtx()) == NULL)
		return -1;
	size_t got = ZSTD_decompressDCtx(c->dctx, scratch(c, size ? size : 1),
		size, data, n);
	if (ZSTD_isError(got) || got != size)
		return -1;
	return (long long)size;
}

/* Pushes the value of a result: 1, or 0 (nothing pushed) if it is marked
 * compressed but does not decompress. */
static int push_value(lua_State *L, struct client *c,
	const memcached_result_st *r)
{
	const char *data = memcached_result_value(r);
	size_t n = memcached_result_length(r);
	if (data == NULL)
		data = "";
	if ((memcached_result_flags(r) & FLAG_ZSTD) == 0) {
		lua_pushlstring(L, data, n);
		return 1;
	}
	long long size = unpack(c, data, n);
	if (size < 0)
		return 0;
	lua_pushlstring(L, c->scratch, (size_t)size);
	scratch_trim(c);
	return 1;
}

/* Arguments */

static struct client *check_client(lua_State *L)
{
	struct client *c = luaL_checkudata(L, 1, CLIENT);
	if (!c->open)
		luaL_error(L, "memcached: the client is closed");
	if (c->busy) {
		memcached_quit(&c->mc);
		c->busy = 0;
	}
	return c;
}

/* No spaces or control characters: memcached's text protocol splits on
 * them. */
static int printable(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (ch <= ' ' || ch == 0x7f)
			return 0;
	}
	return 1;
}

static int key_ok(const char *key, size_t len)
{
	return len > 0 && len <= KEY_MAX && printable(key, len);
}

/* A bad key is the caller's bug: raised, showing the key escaped. */
static int bad_key(lua_State *L, const char *key, size_t len)
{
	luaL_Buffer b;
	luaL_buffinit(L, &b);
	for (size_t i = 0; i < len && i < 64; i++) {
		unsigned char ch = (unsigned char)key[i];
		if (ch > ' ' && ch < 0x7f && ch != '\\' && ch != '\'') {
			luaL_addchar(&b, (char)ch);
		} else {
			char esc[8];
			snprintf(esc, sizeof(esc), "\\x%02x", ch);
			luaL_addstring(&b, esc);
		}
	}
	if (len > 64)
		luaL_addstring(&b, "...");
	luaL_pushresult(&b);
	return luaL_error(L, "memcached: bad key '%s' (%I bytes; a key is 1 to "
		"%d bytes without spaces or control characters)",
		lua_tostring(L, -1), (lua_Integer)len, KEY_MAX);
}

static const char *to_key(lua_State *L, int idx, size_t *len)
{
	if (lua_type(L, idx) != LUA_TSTRING)
		luaL_error(L, "memcached: bad key (a string expected, got %s)",
			luaL_typename(L, idx));
	const char *key = lua_tolstring(L, idx, len);
	if (!key_ok(key, *len))
		bad_key(L, key, *len);
	return key;
}

static time_t check_ttl(lua_State *L, int idx)
{
	lua_Integer ttl = luaL_optinteger(L, idx, 0);
	luaL_argcheck(L, ttl >= 0 && ttl <= TTL_MAX, idx,
		"memcached: ttl in seconds, 0 (no expiry) to 10 years, expected");
	if (ttl > MONTH)
		return time(NULL) + (time_t)ttl;
	return (time_t)ttl;
}

/* Servers that timed out */

static const memcached_instance_st *server_of(struct client *c,
	const char *key, size_t len)
{
	return memcached_server_by_key(&c->mc, key, len, NULL);
}

static void stall(struct client *c, const memcached_instance_st *s)
{
	uint64_t until = wisp_now() + RETRY_S * 1000;
	if (s == NULL)
		return;
	for (int i = 0; i < c->nstalls; i++)
		if (c->stalls[i].server == s) {
			c->stalls[i].until = until;
			return;
		}
	if (c->nstalls < STALL_MAX) /* else not skipped: slower, still right */
		c->stalls[c->nstalls++] = (struct stall){ s, until };
}

/* The first server of the call's keys that is being skipped, or NULL.
 * Costs nothing while no server is: the common case. */
static const memcached_instance_st *stalled(struct client *c,
	const struct call *call)
{
	if (c->nstalls == 0)
		return NULL;
	uint64_t now = wisp_now();
	for (int i = 0; i < c->nstalls;) {
		if (c->stalls[i].until <= now)
			c->stalls[i] = c->stalls[--c->nstalls];
		else
			i++;
	}
	if (c->nstalls == 0)
		return NULL;
	for (size_t k = 0; k < call->n; k++) {
		const memcached_instance_st *s = server_of(c, call->keys[k],
			call->lens[k]);
		for (int i = 0; i < c->nstalls; i++)
			if (c->stalls[i].server == s)
				return s;
	}
	return NULL;
}

/* Failures */

/* A failure after which a reply may still come, or be half read: the
 * connections are closed, so that it is not taken for the next answer. */
static int leaves_reply_behind(memcached_return_t rc)
{
	switch (rc) {
	case MEMCACHED_TIMEOUT:
	case MEMCACHED_READ_FAILURE:
	case MEMCACHED_UNKNOWN_READ_FAILURE:
	case MEMCACHED_PROTOCOL_ERROR:
	case MEMCACHED_PARTIAL_READ:
	case MEMCACHED_SOME_ERRORS:
	case MEMCACHED_FAILURE:
		return 1;
	default:
		return 0;
	}
}

static void recover(struct client *c, memcached_return_t rc,
	const struct call *call)
{
	if (rc == MEMCACHED_TIMEOUT) {
		for (size_t k = 0; k < call->n; k++) {
			const memcached_instance_st *s = server_of(c, call->keys[k],
				call->lens[k]);
			/* of an mget's servers, only those that timed out */
			if (call->n == 1 || memcached_server_error_return(s) == rc)
				stall(c, s);
		}
	}
	if (leaves_reply_behind(rc))
		memcached_quit(&c->mc);
}

/* libmemcached's account of the failure, without the "(0x...) " and
 * " -> file:line" around it, which tell a reader of logs nothing. */
static void describe(struct client *c, memcached_return_t rc, char *buf,
	size_t size)
{
	memcached_return_t last = memcached_last_error(&c->mc);
	const char *m = last == MEMCACHED_SUCCESS ? memcached_strerror(&c->mc, rc)
		: memcached_last_error_message(&c->mc);
	size_t n = 0;
	if (last != MEMCACHED_SUCCESS && last != rc) {
		int w = snprintf(buf, size, "%s: ", memcached_strerror(&c->mc, rc));
		n = w < 0 ? 0 : (size_t)w < size ? (size_t)w : size - 1;
	}
	if (m[0] == '(' && strstr(m, ") "))
		m = strstr(m, ") ") + 2;
	for (; *m && n + 1 < size && strncmp(m, " -> ", 4) != 0; m++)
		if (!(*m == ' ' && n > 0 && buf[n - 1] == ' '))
			buf[n++] = *m;
	while (n > 0 && (buf[n - 1] == ' ' || buf[n - 1] == ','))
		n--;
	buf[n] = '\0';
}

static int push_failure(lua_State *L, const struct call *call,
	const char *detail)
{
	lua_pushnil(L);
	if (call->n == 1)
		lua_pushfstring(L, "memcached: %s '%s': %s", call->op, call->keys[0],
			detail);
	else if (call->n > 1)
		lua_pushfstring(L, "memcached: %s of %I keys: %s", call->op,
			(lua_Integer)call->n, detail);
	else
		lua_pushfstring(L, "memcached: %s: %s", call->op, detail);
	return 2;
}

static int fail(lua_State *L, struct client *c, memcached_return_t rc,
	const struct call *call)
{
	char detail[512];
	describe(c, rc, detail, sizeof(detail));
	recover(c, rc, call);
	return push_failure(L, call, detail);
}

static int fail_stalled(lua_State *L, const struct call *call,
	const memcached_instance_st *s)
{
	char detail[HOST_MAX + 128];
	snprintf(detail, sizeof(detail), "A TIMEOUT OCCURRED on %s:%d less than "
		"%d s ago; not tried again yet", memcached_server_name(s),
		(int)memcached_server_port(s), RETRY_S);
	return push_failure(L, call, detail);
}

static int fail_corrupt(lua_State *L, const char *key, size_t len)
{
	lua_pushnil(L);
	lua_pushliteral(L, "memcached: corrupt compressed value for key '");
	lua_pushlstring(L, key, len);
	lua_pushliteral(L, "'");
	lua_concat(L, 3);
	return 2;
}

static int too_big(lua_State *L, struct client *c, const struct call *call,
	size_t stored, size_t size)
{
	char detail[256];
	if (stored == size)
		snprintf(detail, sizeof(detail), "value of %zu bytes is too large (%s)",
			size, size > VALUE_MAX ? "the limit is 64 MB"
			: memcached_strerror(&c->mc, MEMCACHED_E2BIG));
	else
		snprintf(detail, sizeof(detail), "value of %zu bytes (%zu before "
			"compression) is too large (%s)", stored, size,
			memcached_strerror(&c->mc, MEMCACHED_E2BIG));
	return push_failure(L, call, detail);
}

/* Reads and drops what is left of an mget's replies. */
static void drain(struct client *c)
{
	memcached_return_t rc;
	while (memcached_fetch_result(&c->mc, &c->result, &rc) != NULL)
		;
}

/* A reply still expected from some server after the fetch ended: with
 * several servers, libmemcached ends a fetch whose poll timed out as if
 * every key had missed. */
static int replies_pending(struct client *c)
{
	uint32_t n = memcached_server_count(&c->mc);
	for (uint32_t i = 0; i < n; i++)
		if (memcached_server_response_count(
				memcached_server_instance_by_position(&c->mc, i)) > 0)
			return 1;
	return 0;
}

/* Gets */

static int same_key(const memcached_result_st *r, const char *key,
	size_t len)
{
	return memcached_result_key_length(r) == len
		&& memcmp(memcached_result_key_value(r), key, len) == 0;
}

static int get_one(lua_State *L, int with_cas)
{
	struct client *c = check_client(L);
	size_t len;
	const char *key = to_key(L, 2, &len);
	struct call call = { with_cas ? "gets" : "get", &key, &len, 1 };
	const memcached_instance_st *s = stalled(c, &call);
	if (s != NULL)
		return fail_stalled(L, &call, s);
	memcached_return_t rc = memcached_mget(&c->mc, &key, &len, 1);
	if (rc != MEMCACHED_SUCCESS)
		return fail(L, c, rc, &call);
	int pushed = 0, corrupt = 0, stray = 0;
	uint64_t cas = 0;
	memcached_result_st *r;
	c->busy = 1;
	while ((r = memcached_fetch_result(&c->mc, &c->result, &rc)) != NULL) {
		if (pushed || corrupt || !same_key(r, key, len)) {
			stray = 1; /* an answer to some other call: out of step */
		} else if (push_value(L, c, r)) {
			pushed = 1;
			cas = memcached_result_cas(r);
		} else {
			corrupt = 1;
		}
	}
	c->busy = 0;
	if (stray || (rc != MEMCACHED_END && rc != MEMCACHED_NOTFOUND)) {
		lua_pop(L, pushed);
		return fail(L, c, stray ? MEMCACHED_PROTOCOL_ERROR : rc, &call);
	}
	if (corrupt)
		return fail_corrupt(L, key, len);
	if (!pushed) {
		lua_pushboolean(L, 0);
		return 1;
	}
	if (!with_cas)
		return 1;
	lua_pushinteger(L, (lua_Integer)cas);
	return 2;
}

static int l_get(lua_State *L)
{
	return get_one(L, 0);
}

static int l_gets(lua_State *L)
{
	return get_one(L, 1);
}

/* Checks the keys of an mget into the client's key vectors: how many. */
static size_t check_keys(lua_State *L, struct client *c, int idx)
{
	luaL_checktype(L, idx, LUA_TTABLE);
	size_t n = (size_t)lua_rawlen(L, idx);
	reserve_keys(c, n);
	for (size_t i = 0; i < n; i++) {
		lua_rawgeti(L, idx, (lua_Integer)i + 1);
		/* the string stays alive in the table after the pop */
		c->keys[i] = to_key(L, -1, &c->lens[i]);
		lua_pop(L, 1);
	}
	return n;
}

/* Fetches an mget's values into the table on top: 0, or -1 with *rc
 * set, or 1 if the value of the key copied to bad did not decompress. */
static int fetch_all(lua_State *L, struct client *c, memcached_return_t *rc,
	char *bad)
{
	memcached_result_st *r;
	int corrupt = 0;
	c->busy = 1;
	while ((r = memcached_fetch_result(&c->mc, &c->result, rc)) != NULL) {
		size_t len = memcached_result_key_length(r);
		lua_pushlstring(L, memcached_result_key_value(r), len);
		if (push_value(L, c, r)) {
			lua_rawset(L, -3);
		} else {
			lua_pop(L, 1);
			if (!corrupt && len <= KEY_MAX) {
				memcpy(bad, memcached_result_key_value(r), len);
				bad[len] = '\0';
			}
			corrupt = 1;
		}
	}
	c->busy = 0;
	if ((*rc != MEMCACHED_END && *rc != MEMCACHED_NOTFOUND)
		|| replies_pending(c)) {
		if (*rc == MEMCACHED_END || *rc == MEMCACHED_NOTFOUND)
			*rc = MEMCACHED_TIMEOUT;
		return -1;
	}
	return corrupt;
}

static int l_mget(lua_State *L)
{
	struct client *c = check_client(L);
	size_t n = check_keys(L, c, 2);
	struct call call = { "mget", c->keys, c->lens, n };
	lua_createtable(L, 0, (int)(n < 1024 ? n : 1024));
	if (n == 0)
		return 1;
	const memcached_instance_st *s = stalled(c, &call);
	if (s != NULL)
		return fail_stalled(L, &call, s);
	memcached_return_t rc = memcached_mget(&c->mc, c->keys, c->lens, n);
	/* A server that could not be asked leaves SUCCESS with an error
	 * recorded: its keys would look like misses. */
	if (rc == MEMCACHED_SUCCESS && memcached_last_error(&c->mc) != rc)
		rc = memcached_last_error(&c->mc);
	if (rc != MEMCACHED_SUCCESS) {
		drain(c);
		return fail(L, c, rc, &call);
	}
	char bad[KEY_MAX + 1] = "";
	int got = fetch_all(L, c, &rc, bad);
	if (got < 0)
		return fail(L, c, rc, &call);
	if (got > 0)
		return fail_corrupt(L, bad, strlen(bad));
	return 1;
}

/* Stores */

enum store_op { OP_SET, OP_ADD, OP_CAS };

static memcached_return_t send_store(struct client *c, enum store_op op,
	const struct call *call, const char *data, size_t n, time_t ttl,
	uint32_t flags, uint64_t cas)
{
	const char *key = call->keys[0];
	size_t len = call->lens[0];
	switch (op) {
	case OP_ADD:
		return memcached_add(&c->mc, key, len, data, n, ttl, flags);
	case OP_CAS:
		return memcached_cas(&c->mc, key, len, data, n, ttl, flags, cas);
	default:
		return memcached_set(&c->mc, key, len, data, n, ttl, flags);
	}
}

/* true, false when add found the key or cas found it changed or gone. */
static int store(lua_State *L, enum store_op op)
{
	static const char *const names[] = { "set", "add", "cas" };
	struct client *c = check_client(L);
	size_t len, size, n;
	const char *key = to_key(L, 2, &len);
	const char *value = luaL_checklstring(L, 3, &size);
	time_t ttl = check_ttl(L, 4);
	uint64_t cas = op == OP_CAS ? (uint64_t)luaL_checkinteger(L, 5) : 0;
	struct call call = { names[op], &key, &len, 1 };
	if (size > VALUE_MAX)
		return too_big(L, c, &call, size, size);
	const memcached_instance_st *s = stalled(c, &call);
	if (s != NULL)
		return fail_stalled(L, &call, s);
	uint32_t flags;
	const char *data = pack(c, value, size, &n, &flags);
	memcached_return_t rc = send_store(c, op, &call, data, n, ttl, flags, cas);
	scratch_trim(c);
	if (rc == MEMCACHED_SUCCESS || rc == MEMCACHED_STORED) {
		lua_pushboolean(L, 1);
		return 1;
	}
	if ((op == OP_ADD && (rc == MEMCACHED_NOTSTORED
			|| rc == MEMCACHED_DATA_EXISTS))
		|| (op == OP_CAS && (rc == MEMCACHED_DATA_EXISTS
			|| rc == MEMCACHED_NOTFOUND))) {
		lua_pushboolean(L, 0);
		return 1;
	}
	if (rc == MEMCACHED_E2BIG)
		return too_big(L, c, &call, n, size);
	return fail(L, c, rc, &call);
}

static int l_set(lua_State *L)
{
	return store(L, OP_SET);
}

static int l_add(lua_State *L)
{
	return store(L, OP_ADD);
}

static int l_cas(lua_State *L)
{
	return store(L, OP_CAS);
}

static int l_delete(lua_State *L)
{
	struct client *c = check_client(L);
	size_t len;
	const char *key = to_key(L, 2, &len);
	struct call call = { "delete", &key, &len, 1 };
	const memcached_instance_st *s = stalled(c, &call);
	if (s != NULL)
		return fail_stalled(L, &call, s);
	memcached_return_t rc = memcached_delete(&c->mc, key, len, 0);
	if (rc == MEMCACHED_SUCCESS || rc == MEMCACHED_DELETED
		|| rc == MEMCACHED_NOTFOUND) {
		lua_pushboolean(L, rc != MEMCACHED_NOTFOUND);
		return 1;
	}
	return fail(L, c, rc, &call);
}

static int sent(memcached_return_t rc)
{
	return rc == MEMCACHED_SUCCESS || rc == MEMCACHED_BUFFERED
		|| rc == MEMCACHED_DELETED || rc == MEMCACHED_NOTFOUND;
}

/* delete_many(keys): deletes every key without waiting for the answers
 * (noreply, text protocol): one write each and no round trip, where
 * delete waits for each. true, or nil and an error when a server could not be written to.
 * A later request on the same connection is served after these, so a get
 * that follows never sees what was deleted. */
static int l_delete_many(lua_State *L)
{
	struct client *c = check_client(L);
	size_t n = check_keys(L, c, 2);
	struct call call = { "delete", c->keys, c->lens, n };
	const memcached_instance_st *s = n ? stalled(c, &call) : NULL;
	if (s != NULL)
		return fail_stalled(L, &call, s);
	memcached_return_t rc = MEMCACHED_SUCCESS;
	/* The binary protocol's quiet delete still answers a miss, which
	 * would be read as the answer to the next request: there, each
	 * delete waits. NOREPLY is a flag only: unlike buffering, setting it
	 * closes no connection. */
	int quiet = !memcached_behavior_get(&c->mc,
		MEMCACHED_BEHAVIOR_BINARY_PROTOCOL);
	memcached_behavior_set(&c->mc, MEMCACHED_BEHAVIOR_NOREPLY, quiet);
	for (size_t i = 0; i < n && sent(rc); i++)
		rc = memcached_delete(&c->mc, c->keys[i], c->lens[i], 0);
	memcached_behavior_set(&c->mc, MEMCACHED_BEHAVIOR_NOREPLY, 0);
	if (!sent(rc))
		return fail(L, c, rc, &call);
	lua_pushboolean(L, 1);
	return 1;
}

static int l_flush(lua_State *L)
{
	struct client *c = check_client(L);
	struct call call = { "flush", NULL, NULL, 0 };
	memcached_return_t rc = memcached_flush(&c->mc, 0);
	if (rc != MEMCACHED_SUCCESS)
		return fail(L, c, rc, &call);
	lua_pushboolean(L, 1);
	return 1;
}

static int l_close(lua_State *L)
{
	release(luaL_checkudata(L, 1, CLIENT));
	return 0;
}

/* Creation */

static int bad_option(lua_State *L, const char *name, const char *want)
{
	return luaL_error(L, "memcached: bad option %s (%s expected)", name, want);
}

static lua_Integer int_option(lua_State *L, const char *name,
	lua_Integer min, lua_Integer max, const char *want)
{
	if (!lua_isinteger(L, -1) || lua_tointeger(L, -1) < min
		|| lua_tointeger(L, -1) > max)
		bad_option(L, name, want);
	return lua_tointeger(L, -1);
}

/* Reads the options table at 1 (the key being checked at -2). */
static void read_options(lua_State *L, struct options *o)
{
	luaL_checktype(L, 1, LUA_TTABLE);
	*o = (struct options){ 200, 1024, 0 };
	int servers = 0;
	lua_pushnil(L);
	while (lua_next(L, 1)) {
		const char *name = lua_type(L, -2) == LUA_TSTRING
			? lua_tostring(L, -2) : "?";
		if (strcmp(name, "servers") == 0) {
			if (!lua_istable(L, -1))
				bad_option(L, name, "a list of \"host:port\"");
			servers = 1;
		} else if (strcmp(name, "timeout") == 0) {
			o->timeout_ms = (int)int_option(L, name, 1, 60000,
				"milliseconds, 1 to 60000");
		} else if (strcmp(name, "compress") == 0) {
			o->compress = int_option(L, name, 0, VALUE_MAX,
				"a size in bytes, 0 for never");
		} else if (strcmp(name, "binary") == 0) {
			if (!lua_isboolean(L, -1))
				bad_option(L, name, "a boolean");
			o->binary = lua_toboolean(L, -1);
		} else {
			luaL_error(L, "memcached: unknown option '%s'", name);
		}
		lua_pop(L, 1);
	}
	if (!servers)
		luaL_error(L, "memcached: no servers given");
}

static void add_servers(lua_State *L, struct client *c)
{
	lua_getfield(L, 1, "servers");
	size_t n = (size_t)lua_rawlen(L, -1);
	if (n == 0 || n > SERVERS_MAX)
		luaL_error(L, "memcached: bad option servers (1 to %d \"host:port\" "
			"expected)", SERVERS_MAX);
	for (size_t i = 1; i <= n; i++) {
		struct wisp_addr a;
		size_t len;
		lua_rawgeti(L, -1, (lua_Integer)i);
		const char *s = lua_type(L, -1) == LUA_TSTRING
			? lua_tolstring(L, -1, &len) : NULL;
		/* a NUL inside would cut the address short */
		if (s == NULL || strlen(s) != len
			|| wisp_addr_parse(s, DEFAULT_PORT, &a) != NULL)
			luaL_error(L, "memcached: bad server address '%s'",
				s ? s : luaL_typename(L, -1));
		memcached_return_t rc = memcached_server_add(&c->mc, a.host,
			(in_port_t)a.port);
		if (rc != MEMCACHED_SUCCESS)
			luaL_error(L, "memcached: cannot add server '%s': %s", s,
				memcached_strerror(&c->mc, rc));
		lua_pop(L, 1);
	}
	lua_pop(L, 1);
}

static void behave(lua_State *L, struct client *c, memcached_behavior_t b,
	uint64_t value)
{
	memcached_return_t rc = memcached_behavior_set(&c->mc, b, value);
	if (rc != MEMCACHED_SUCCESS)
		luaL_error(L, "memcached: cannot set behavior %d: %s", (int)b,
			memcached_strerror(&c->mc, rc));
}

static void configure(lua_State *L, struct client *c, const struct options *o)
{
	uint64_t ms = (uint64_t)o->timeout_ms;
	behave(L, c, MEMCACHED_BEHAVIOR_BINARY_PROTOCOL, (uint64_t)o->binary);
	behave(L, c, MEMCACHED_BEHAVIOR_CONNECT_TIMEOUT, ms);
	behave(L, c, MEMCACHED_BEHAVIOR_POLL_TIMEOUT, ms);
	behave(L, c, MEMCACHED_BEHAVIOR_SND_TIMEOUT, ms * 1000);
	behave(L, c, MEMCACHED_BEHAVIOR_RCV_TIMEOUT, ms * 1000);
	behave(L, c, MEMCACHED_BEHAVIOR_TCP_NODELAY, 1);
	behave(L, c, MEMCACHED_BEHAVIOR_SUPPORT_CAS, 1); /* "gets" for cas */
	/* Consistent hashing, libketama's way (MD5, 160 points per server),
	 * so that other ketama clients place keys on the same servers; the
	 * distribution becomes MEMCACHED_DISTRIBUTION_CONSISTENT_WEIGHTED. */
	behave(L, c, MEMCACHED_BEHAVIOR_DISTRIBUTION,
		MEMCACHED_DISTRIBUTION_CONSISTENT);
	behave(L, c, MEMCACHED_BEHAVIOR_KETAMA_WEIGHTED, 1);
	/* A server that refuses or times out a connection is skipped (calls
	 * fail at once) for RETRY_S, then tried again. Failed servers are
	 * not ejected (REMOVE_FAILED_SERVERS): that would move their keys to
	 * other servers, where a row could be cached twice and read stale
	 * once its server is back; ejected servers with no DEAD_TIMEOUT are
	 * also never tried again. */
	behave(L, c, MEMCACHED_BEHAVIOR_RETRY_TIMEOUT, RETRY_S);
}

static int l_new(lua_State *L)
{
	struct options o;
	read_options(L, &o);
	struct client *c = lua_newuserdatauv(L, sizeof(*c), 0);
	memset(c, 0, sizeof(*c));
	luaL_setmetatable(L, CLIENT); /* from here, __gc frees what is made */
	if (memcached_create(&c->mc) == NULL)
		return luaL_error(L, "memcached: cannot create a client");
	memcached_result_create(&c->mc, &c->result);
	c->made = 1;
	c->open = 1;
	c->compress_min = (size_t)o.compress;
	configure(L, c, &o);
	add_servers(L, c);
	return 1;
}

static int l_gc(lua_State *L)
{
	release(lua_touserdata(L, 1));
	return 0;
}

int wisp_lua_open_memcached(lua_State *L)
{
	static const luaL_Reg methods[] = {
		{ "get", l_get }, { "mget", l_mget }, { "gets", l_gets },
		{ "set", l_set }, { "add", l_add }, { "cas", l_cas },
		{ "delete", l_delete }, { "delete_many", l_delete_many },
		{ "flush", l_flush }, { "close", l_close },
		{ NULL, NULL },
	};
	if (luaL_newmetatable(L, CLIENT)) {
		luaL_newlib(L, methods);
		lua_setfield(L, -2, "__index");
		lua_pushcfunction(L, l_gc);
		lua_setfield(L, -2, "__gc");
		lua_pushcfunction(L, l_gc);
		lua_setfield(L, -2, "__close");
	}
	lua_pop(L, 1);
	static const luaL_Reg funcs[] = { { "new", l_new }, { NULL, NULL } };
	luaL_newlib(L, funcs);
	return 1;
}
