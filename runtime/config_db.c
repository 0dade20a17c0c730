/* config_db.c: the `db` settings of a config, read by every node and used
 * by the db service of a node with the db role: the sqlite3 database, its
 * migrations, the row cache (memcached servers or in process) and the
 * tables loaded read-only at start. */
#include <lauxlib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "config.h"
#include "config_reader.h"
#include "wisp.h"

static const char *const db_keys[] = { "file", "migrations", "synchronous",
	"cache_size", "batch", "memcached", "static", NULL };
static const char *const memcached_keys[] = { "servers", "prefix", "ttl",
	"compress", "timeout", NULL };
/* sqlite3's PRAGMA synchronous levels, by their number */
static const char *const sync_names[] = { "off", "normal", "full", NULL };

/* libmemcached keeps a prefix of up to 127 bytes */
#define PREFIX_MAX 127

void wisp_cfg_db_defaults(struct wisp_db_settings *d)
{
	*d = (struct wisp_db_settings){
		.file = wisp_strdup("wisp.db"),
		.synchronous = 1,
		.cache_size = 64u << 20,
		.batch_max = 1000,
		.prefix = wisp_strdup("wisp"),
		.ttl_s = 3600,
		.compress = 1024,
		.timeout_ms = 200,
	};
}

static void free_list(char **list, size_t count)
{
	for (size_t i = 0; i < count; i++)
		wisp_free(list[i]);
	wisp_free(list);
}

void wisp_cfg_db_free(struct wisp_db_settings *d)
{
	wisp_free(d->file);
	wisp_free(d->migrations);
	wisp_free(d->prefix);
	free_list(d->memcached, d->memcached_count);
	free_list(d->static_tables, d->static_count);
	memset(d, 0, sizeof(*d));
}

/* A "host:port" that a server list can hold: the last colon splits (so
 * "[::1]:11211" works), the host has no blanks or commas, the port is
 * decimal digits only. */
static int valid_server(const char *s)
{
	const char *colon = strrchr(s, ':');
	if (colon == NULL || colon == s)
		return 0;
	for (const char *c = s; c < colon; c++)
		if (*c <= ' ' || *c == ',' || *c == 0x7f)
			return 0;
	size_t digits = strspn(colon + 1, "0123456789");
	if (digits == 0 || digits > 5 || colon[1 + digits] != '\0')
		return 0;
	long port = strtol(colon + 1, NULL, 10);
	return port >= 1 && port <= 65535;
}

/* An identifier, as SQL takes it unquoted. */
static int valid_table(const char *s)
{
	size_t len = strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
		"abcdefghijklmnopqrstuvwxyz0123456789_");
	return len > 0 && len <= 63 && s[len] == '\0'
		&& !(s[0] >= '0' && s[0] <= '9');
}

/* What a list of strings holds: how the list and an item are described
 * in errors, and the check of an item. */
struct list_kind {
	const char *list, *item;
	int (*valid)(const char *s);
};

static const struct list_kind servers = {
	"a list of \"host:port\" strings", "\"host:port\" (port 1 to 65535)",
	valid_server };
static const struct list_kind tables = { "a list of table names",
	"a table name ([A-Za-z_][A-Za-z0-9_]*, up to 63 characters)",
	valid_table };

/* The table on top is a list: its only keys are 1..#t. */
static int is_list(lua_State *L)
{
	lua_Integer n = (lua_Integer)lua_rawlen(L, -1), count = 0;
	lua_pushnil(L);
	while (lua_next(L, -2)) {
		lua_pop(L, 1);
		count++;
	}
	return count == n;
}

/* t[key] on top, a list of strings each valid, into a new *list; the one
 * before is freed only when this one is good. */
static int read_strings(struct reader *r, const char *where, const char *key,
	const struct list_kind *kind, char ***list, size_t *count)
{
	lua_Integer n = (lua_Integer)lua_rawlen(r->L, -1);
	char **items = wisp_malloc((size_t)(n + 1) * sizeof(*items));
	for (lua_Integer i = 0; i < n; i++) {
		lua_rawgeti(r->L, -1, i + 1);
		const char *s = lua_type(r->L, -1) == LUA_TSTRING
			? lua_tostring(r->L, -1) : NULL;
		/* a NUL inside would cut the name short */
		if (s == NULL || strlen(s) != lua_rawlen(r->L, -1)
			|| !kind->valid(s)) {
			free_list(items, (size_t)i);
			return wisp_cfg_fail(r, "%s.%s[%lld] must be %s, not '%s'", where,
				key, (long long)i + 1, kind->item,
				s ? s : luaL_typename(r->L, -1));
		}
		items[i] = wisp_strdup(s);
		lua_pop(r->L, 1);
	}
	free_list(*list, *count);
	*list = items;
	*count = (size_t)n;
	return 0;
}

/* t[key], if present, a list of strings as read_strings reads them. */
static int read_list(struct reader *r, const char *where, const char *key,
	const struct list_kind *kind, char ***list, size_t *count)
{
	int got = wisp_cfg_field(r, where, key, LUA_TTABLE, kind->list);
	if (got != 0)
		return got < 0 ? -1 : 0;
	if (!is_list(r->L))
		return wisp_cfg_fail(r, "key '%s' in %s must be %s", key, where,
			kind->list);
	if (read_strings(r, where, key, kind, list, count) < 0)
		return -1;
	lua_pop(r->L, 1);
	return 0;
}

/* A path as written, relative ones too; empty is no path at all. */
static int read_path(struct reader *r, const char *key, char **out)
{
	char *path = NULL;
	if (wisp_cfg_string(r, "db", key, &path) < 0)
		return -1;
	if (path == NULL)
		return 0;
	if (path[0] == '\0') {
		wisp_free(path);
		return wisp_cfg_fail(r, "key '%s' in db must be a non-empty path",
			key);
	}
	wisp_free(*out);
	*out = path;
	return 0;
}

static int read_synchronous(struct reader *r, struct wisp_db_settings *d)
{
	char *name = NULL;
	if (wisp_cfg_string(r, "db", "synchronous", &name) < 0)
		return -1;
	if (name == NULL)
		return 0;
	int level = wisp_cfg_listed(sync_names, name);
	wisp_free(name);
	if (level < 0)
		return wisp_cfg_fail(r, "key 'synchronous' in db must be one of off, "
			"normal, full");
	d->synchronous = level;
	return 0;
}

/* Keys go to memcached as they are: no blanks or control characters. */
static int read_prefix(struct reader *r, struct wisp_db_settings *d)
{
	char *prefix = NULL;
	if (wisp_cfg_string(r, "db.memcached", "prefix", &prefix) < 0)
		return -1;
	if (prefix == NULL)
		return 0;
	size_t len = strlen(prefix);
	int bad = len > PREFIX_MAX;
	for (size_t i = 0; i < len; i++)
		bad |= (unsigned char)prefix[i] <= ' ' || prefix[i] == 0x7f;
	if (bad) {
		wisp_free(prefix);
		return wisp_cfg_fail(r, "key 'prefix' in db.memcached must be up to "
			"%d characters, none of them blank or control", PREFIX_MAX);
	}
	wisp_free(d->prefix);
	d->prefix = prefix;
	return 0;
}

/* memcached = { servers, prefix, ttl, compress, timeout } */
static int read_memcached(struct reader *r, struct wisp_db_settings *d)
{
	const char *w = "db.memcached";
	int got = wisp_cfg_field(r, "db", "memcached", LUA_TTABLE, "a table");
	if (got != 0)
		return got < 0 ? -1 : 0;
	lua_Integer ttl = d->ttl_s, compress = (lua_Integer)d->compress;
	lua_Integer timeout = d->timeout_ms;
	if (wisp_cfg_check_keys(r, w, memcached_keys) < 0
		|| read_list(r, w, "servers", &servers, &d->memcached,
			&d->memcached_count) < 0
		|| read_prefix(r, d) < 0
		|| wisp_cfg_integer(r, w, "ttl", 1, 30 * 86400, &ttl) < 0
		|| wisp_cfg_integer(r, w, "compress", 0, 1 << 30, &compress) < 0
		|| wisp_cfg_integer(r, w, "timeout", 1, 10000, &timeout) < 0)
		return -1;
	d->ttl_s = (uint32_t)ttl;
	d->compress = (size_t)compress;
	d->timeout_ms = (uint32_t)timeout;
	lua_pop(r->L, 1);
	return 0;
}

static int read_limits(struct reader *r, struct wisp_db_settings *d)
{
	lua_Integer cache = (lua_Integer)d->cache_size, batch = d->batch_max;
	if (wisp_cfg_integer(r, "db", "cache_size", 0, (lua_Integer)1 << 40,
			&cache) < 0
		|| wisp_cfg_integer(r, "db", "batch", 1, 100000, &batch) < 0)
		return -1;
	d->cache_size = (size_t)cache;
	d->batch_max = (uint32_t)batch;
	return 0;
}

/* The config's `db` table, if any, over the defaults. Every node reads
 * it, so that a mistake shows on any node's --check. */
int wisp_cfg_read_db(struct reader *r, struct wisp_db_settings *d)
{
	int got = wisp_cfg_field(r, "the config", "db", LUA_TTABLE, "a table");
	if (got != 0)
		return got < 0 ? -1 : 0;
	if (wisp_cfg_check_keys(r, "db", db_keys) < 0
		|| read_path(r, "file", &d->file) < 0
		|| read_path(r, "migrations", &d->migrations) < 0
		|| read_synchronous(r, d) < 0 || read_limits(r, d) < 0
		|| read_memcached(r, d) < 0
		|| read_list(r, "db", "static", &tables, &d->static_tables,
			&d->static_count) < 0)
		return -1;
	lua_pop(r->L, 1);
	return 0;
}
