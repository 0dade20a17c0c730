/* config_db.c: the db service's section of the config, the top-level
 * `db` table, read by every node and used by the db service of a node
 * with the db role: the sqlite3 database (or a PostgreSQL one), its
 * migrations, the row cache
 * (memcached servers or in process) and the tables loaded read-only at
 * start. */
#include <lauxlib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "addr.h"
#include "db_config.h"
#include "wisp.h"

/* sqlite3's PRAGMA synchronous levels, by their number */
static const char *const sync_names[] = { "off", "normal", "full", NULL };

/* libmemcached keeps a prefix of up to 127 bytes */
#define PREFIX_MAX 127

static void free_list(char **list, size_t count)
{
	for (size_t i = 0; i < count; i++)
		wisp_free(list[i]);
	wisp_free(list);
}

/* The lists (the string keys are freed already). */
static void db_free(void *settings)
{
	struct wisp_db_settings *d = settings;
	free_list(d->memcached, d->memcached_count);
	free_list(d->static_tables, d->static_count);
	wisp_free(d->postgres);
	d->postgres = NULL;
	d->memcached = d->static_tables = NULL;
	d->memcached_count = d->static_count = 0;
	for (size_t i = 0; i < d->owner_count; i++) {
		wisp_free(d->owners[i].table);
		wisp_free(d->owners[i].node);
	}
	wisp_free(d->owners);
	wisp_free(d->default_owner);
	d->owners = NULL;
	d->owner_count = 0;
	d->default_owner = NULL;
}

/* A "host:port" (proto/addr.h), as wisp.memcached takes it. */
static int valid_server(const char *s)
{
	struct wisp_addr a;
	return wisp_addr_parse(s, 0, &a) == NULL;
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
static int check_path(struct reader *r, const char *where,
	const struct wisp_cfg_key *k, void *settings)
{
	const char *path = *(char **)((char *)settings + k->offset);
	if (path[0] == '\0')
		return wisp_cfg_fail(r, "key '%s' in %s must be a non-empty path",
			k->name, where);
	return 0;
}

static int read_synchronous(struct reader *r, const char *where,
	const struct wisp_cfg_key *k, void *settings)
{
	char *name = NULL;
	if (wisp_cfg_string(r, where, k->name, &name) < 0)
		return -1;
	if (name == NULL)
		return 0;
	int level = wisp_cfg_listed(sync_names, name);
	wisp_free(name);
	if (level < 0)
		return wisp_cfg_fail(r, "key 'synchronous' in %s must be one of off, "
			"normal, full", where);
	((struct wisp_db_settings *)settings)->synchronous = level;
	return 0;
}

/* Keys go to memcached as they are: no blanks or control characters. */
static int check_prefix(struct reader *r, const char *where,
	const struct wisp_cfg_key *k, void *settings)
{
	const char *prefix = ((struct wisp_db_settings *)settings)->prefix;
	size_t len = strlen(prefix);
	int bad = len > PREFIX_MAX;
	for (size_t i = 0; i < len; i++)
		bad |= (unsigned char)prefix[i] <= ' ' || prefix[i] == 0x7f;
	if (bad)
		return wisp_cfg_fail(r, "key '%s' in %s must be up to %d characters, "
			"none of them blank or control", k->name, where, PREFIX_MAX);
	return 0;
}

/* postgres = { conninfo = "..." }, in place of file: the db table is on
 * top, so that a file given as well is refused. */
static int read_postgres(struct reader *r, const char *where,
	const struct wisp_cfg_key *k, void *settings)
{
	static const char *const allowed[] = { "conninfo", NULL };
	struct wisp_db_settings *d = settings;
	lua_getfield(r->L, -1, "file");
	int has_file = !lua_isnil(r->L, -1);
	lua_pop(r->L, 1);
	int got = wisp_cfg_field(r, where, k->name, LUA_TTABLE,
		"a table { conninfo = \"...\" }");
	if (got != 0)
		return got < 0 ? -1 : 0;
	char sub[128];
	snprintf(sub, sizeof(sub), "%s.%s", where, k->name);
	char *info = NULL;
	if (wisp_cfg_check_keys(r, sub, allowed) < 0
		|| wisp_cfg_string(r, sub, "conninfo", &info) < 0)
		return -1;
	lua_pop(r->L, 1);
	if (info == NULL || info[0] == '\0') {
		wisp_free(info);
		return wisp_cfg_fail(r, "key 'conninfo' in %s must be a libpq "
			"connection string (\"host=... dbname=...\")", sub);
	}
	wisp_free(d->postgres);
	d->postgres = info;
	if (has_file)
		return wisp_cfg_fail(r, "%s has both file (sqlite3) and postgres: "
			"give one of them", where);
	return 0;
}

static int read_servers(struct reader *r, const char *where,
	const struct wisp_cfg_key *k, void *settings)
{
	struct wisp_db_settings *d = settings;
	return read_list(r, where, k->name, &servers, &d->memcached,
		&d->memcached_count);
}

static int read_static(struct reader *r, const char *where,
	const struct wisp_cfg_key *k, void *settings)
{
	struct wisp_db_settings *d = settings;
	return read_list(r, where, k->name, &tables, &d->static_tables,
		&d->static_count);
}

#define DB_INT(name, field, min, max, def) \
	WISP_CFG_INT_KEY(name, struct wisp_db_settings, field, min, max, def)
#define DB_STRING(name, field, text, check) \
	{ name, WISP_CFG_STRING, WISP_CFG_FIELD(struct wisp_db_settings, field), \
		0, 0, 0, text, NULL, check }
#define DB_CUSTOM(name, read) \
	{ name, WISP_CFG_CUSTOM, 0, 0, 0, 0, 0, NULL, NULL, read }
#define DB_END { NULL, 0, 0, 0, 0, 0, 0, NULL, NULL, NULL }

/* memcached = { servers, prefix, ttl, compress, timeout } */
static const struct wisp_cfg_key memcached_keys[] = {
	DB_CUSTOM("servers", read_servers),
	DB_STRING("prefix", prefix, "wisp", check_prefix),
	DB_INT("ttl", ttl_s, 1, 30 * 86400, 3600),
	DB_INT("compress", compress, 0, 1 << 30, 1024),
	DB_INT("timeout", timeout_ms, 1, 10000, 200),
	DB_END,
};

static const struct wisp_cfg_key db_keys[] = {
	DB_STRING("file", file, "wisp.db", check_path),
	DB_CUSTOM("postgres", read_postgres),
	DB_STRING("migrations", migrations, NULL, check_path),
	DB_CUSTOM("synchronous", read_synchronous),
	DB_INT("cache_size", cache_size, 0, (lua_Integer)1 << 40, 64 << 20),
	DB_INT("batch", batch_max, 1, 100000, 1000),
	{ "memcached", WISP_CFG_TABLE, 0, 0, 0, 0, 0, NULL, memcached_keys,
		NULL },
	DB_CUSTOM("static", read_static),
	DB_END,
};

static const struct wisp_cfg_key top_keys[] = {
	{ "db", WISP_CFG_TABLE, 0, 0, 0, 0, 0, NULL, db_keys, NULL },
	DB_END,
};

/* ---- a db node's own table: nodes.NAME.db = { file, tables } ---- */

/* The owner of table among those read so far, or NULL. */
static const char *owner_of(const struct wisp_db_settings *d,
	const char *table)
{
	for (size_t i = 0; i < d->owner_count; i++)
		if (strcmp(d->owners[i].table, table) == 0)
			return d->owners[i].node;
	return NULL;
}

/* The list tables of node's db table (on top), into the owners. */
static int read_owned(struct reader *r, const char *where, const char *node,
	struct wisp_db_settings *d)
{
	char **list = NULL;
	size_t count = 0;
	if (read_list(r, where, "tables", &tables, &list, &count) < 0)
		return -1;
	int rc = 0;
	for (size_t i = 0; i < count && rc == 0; i++) {
		const char *other = owner_of(d, list[i]);
		if (other) {
			rc = wisp_cfg_fail(r, "the table %s is in the db.tables of both "
				"nodes.%s and nodes.%s: a table has one owner", list[i], other,
				node);
			break;
		}
		d->owners = wisp_realloc(d->owners,
			(d->owner_count + 1) * sizeof(*d->owners));
		d->owners[d->owner_count].table = list[i];
		d->owners[d->owner_count++].node = wisp_strdup(node);
		list[i] = NULL;
	}
	free_list(list, count);
	return rc;
}

/* A db node without db.tables owns every table no other lists: one such
 * node at most. */
static int claim_default(struct reader *r, const char *node,
	struct wisp_db_settings *d)
{
	if (d->default_owner)
		return wisp_cfg_fail(r, "nodes.%s and nodes.%s both have the db role "
			"and no db.tables: only one db node may own the tables no db "
			"node lists", d->default_owner, node);
	d->default_owner = wisp_strdup(node);
	return 0;
}

static const char *const node_db_keys[] = { "file", "tables", NULL };

/* The node table on top: a db node's db table, if any. Every node's
 * tables are kept (each node routes by them); the file only the running
 * node's. */
static int read_node(struct reader *r, const char *where, void *settings)
{
	struct wisp_db_settings *d = settings;
	const char *node = r->node->name;
	int got = wisp_cfg_field(r, where, "db", LUA_TTABLE, "a table");
	if (got < 0)
		return -1;
	if (!(r->node->roles & WISP_ROLE_DB))
		return got == 0 ? wisp_cfg_fail(r, "%s has a db table but not the db "
			"role", where) : 0;
	if (got > 0)
		return claim_default(r, node, d);
	char inner[160];
	snprintf(inner, sizeof(inner), "%s.db", where);
	lua_getfield(r->L, -1, "tables");
	int listed = !lua_isnil(r->L, -1);
	lua_pop(r->L, 1);
	int rc = wisp_cfg_check_keys(r, inner, node_db_keys) < 0
		|| (listed ? read_owned(r, inner, node, d) : claim_default(r, node, d))
		|| (r->self && wisp_cfg_string(r, inner, "file", &d->file) < 0);
	lua_pop(r->L, 1);
	return rc ? -1 : 0;
}

static const char *const node_keys[] = { "db", NULL };

static void db_defaults(void *settings)
{
	((struct wisp_db_settings *)settings)->synchronous = 1; /* normal */
}

const struct wisp_cfg_section wisp_db_config = {
	.name = "db",
	.size = sizeof(struct wisp_db_settings),
	.keys = top_keys,
	.node_keys = node_keys,
	.read_node = read_node,
	.defaults = db_defaults,
	.free = db_free,
};

const struct wisp_db_settings *wisp_db_settings(
	const struct wisp_config *cfg)
{
	return wisp_config_section(cfg, &wisp_db_config);
}
