/* lsettings.c: the `wisp.db.settings` Lua module: the node config's db
 * settings as a fresh table, so that the db service reads them in Lua
 * with the config's own key names, and wisp.db finds each table's db
 * node. */
#include <lauxlib.h>
#include "db_config.h"
#include "host.h"
#include "node.h"

static const char *const sync_names[] = { "off", "normal", "full" };

/* Pushes the list of count strings. */
static void push_list(lua_State *L, char *const *items, size_t count)
{
	lua_createtable(L, (int)count, 0);
	for (size_t i = 0; i < count; i++) {
		lua_pushstring(L, items[i]);
		lua_rawseti(L, -2, (lua_Integer)i + 1);
	}
}

/* Only with servers: without one the service caches rows itself. */
static void set_memcached(lua_State *L, const struct wisp_db_settings *d)
{
	if (d->memcached_count == 0)
		return;
	lua_createtable(L, 0, 5);
	push_list(L, d->memcached, d->memcached_count);
	lua_setfield(L, -2, "servers");
	lua_pushstring(L, d->prefix);
	lua_setfield(L, -2, "prefix");
	wisp_lua_set_int(L, "ttl", d->ttl_s);
	wisp_lua_set_int(L, "compress", (lua_Integer)d->compress);
	wisp_lua_set_int(L, "timeout", d->timeout_ms);
	lua_setfield(L, -2, "memcached");
}

/* owners = { [table] = node } of the listed tables; default_owner the
 * node owning the rest. */
static void set_owners(lua_State *L, const struct wisp_db_settings *d)
{
	lua_createtable(L, 0, (int)d->owner_count);
	for (size_t i = 0; i < d->owner_count; i++) {
		lua_pushstring(L, d->owners[i].node);
		lua_setfield(L, -2, d->owners[i].table);
	}
	lua_setfield(L, -2, "owners");
	if (d->default_owner) {
		lua_pushstring(L, d->default_owner);
		lua_setfield(L, -2, "default_owner");
	}
}

static void push_settings(lua_State *L, const struct wisp_db_settings *d)
{
	lua_createtable(L, 0, 8);
	if (d->postgres) {
		lua_createtable(L, 0, 1);
		lua_pushstring(L, d->postgres);
		lua_setfield(L, -2, "conninfo");
		lua_setfield(L, -2, "postgres");
	} else {
		lua_pushstring(L, d->file);
		lua_setfield(L, -2, "file");
	}
	if (d->migrations) {
		lua_pushstring(L, d->migrations);
		lua_setfield(L, -2, "migrations");
	}
	lua_pushstring(L, sync_names[d->synchronous]);
	lua_setfield(L, -2, "synchronous");
	wisp_lua_set_int(L, "cache_size", (lua_Integer)d->cache_size);
	wisp_lua_set_int(L, "batch", d->batch_max);
	set_memcached(L, d);
	push_list(L, d->static_tables, d->static_count);
	lua_setfield(L, -2, "static");
	set_owners(L, d);
}

/* Outside a node (a script run by a test) the defaults stand in. */
int wisp_lua_open_db_settings(lua_State *L)
{
	const struct wisp_config *cfg = wisp_node_config();
	if (cfg) {
		push_settings(L, wisp_db_settings(cfg));
		return 1;
	}
	struct wisp_config defaults;
	wisp_config_defaults(&defaults, "?");
	push_settings(L, wisp_db_settings(&defaults));
	wisp_config_free(&defaults);
	return 1;
}
