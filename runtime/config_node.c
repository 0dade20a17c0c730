/* config_node.c: the nodes of a config: the one this process runs, in
 * full (roles, services, env, log), and every node's name, id and harbor
 * address, so that any node can reach any other. */
#include <lauxlib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "config.h"
#include "config_reader.h"
#include "log.h"
#include "names.h"
#include "wisp.h"

static const char *const node_keys[] = { "id", "roles", "services",
	"harbor", "harbor_listen", "log_level", "log_file", "log_rate", "env", NULL };
const char *const wisp_role_names[] = { "root", "node", "net", "db", NULL };

static int read_level(struct reader *r, const char *where,
	struct wisp_config *cfg)
{
	char *name = NULL;
	if (wisp_cfg_string(r, where, "log_level", &name) < 0)
		return -1;
	if (name == NULL)
		return 0;
	cfg->log_level = wisp_log_level_parse(name);
	wisp_free(name);
	if (cfg->log_level < 0)
		return wisp_cfg_fail(r, "key 'log_level' in %s must be one of debug, info, "
			"warn, error", where);
	return 0;
}

static void set_env(struct wisp_config *cfg, const char *key,
	const char *value)
{
	for (size_t i = 0; i < cfg->env_count; i++) {
		if (strcmp(cfg->env[i].key, key) == 0) {
			wisp_free(cfg->env[i].value);
			cfg->env[i].value = wisp_strdup(value);
			return;
		}
	}
	cfg->env = wisp_realloc(cfg->env, (cfg->env_count + 1) * sizeof(*cfg->env));
	cfg->env[cfg->env_count].key = wisp_strdup(key);
	cfg->env[cfg->env_count++].value = wisp_strdup(value);
}

static int read_env(struct reader *r, const char *where,
	struct wisp_config *cfg)
{
	int got = wisp_cfg_field(r, where, "env", LUA_TTABLE, "a table");
	if (got != 0)
		return got < 0 ? -1 : 0;
	lua_pushnil(r->L);
	while (lua_next(r->L, -2)) {
		int vt = lua_type(r->L, -1);
		if (lua_type(r->L, -2) != LUA_TSTRING
			|| !(vt == LUA_TSTRING || vt == LUA_TNUMBER || vt == LUA_TBOOLEAN))
			return wisp_cfg_fail(r, "env in %s takes string keys and string, "
				"number or boolean values", where);
		const char *value = luaL_tolstring(r->L, -1, NULL);
		set_env(cfg, lua_tostring(r->L, -3), value);
		lua_pop(r->L, 2);
	}
	lua_pop(r->L, 1);
	return 0;
}

static int read_roles(struct reader *r, const char *where, unsigned *roles)
{
	int got = wisp_cfg_field(r, where, "roles", LUA_TTABLE, "a list of roles");
	if (got != 0)
		return got < 0 ? -1 : 0;
	*roles = 0;
	lua_Integer n = luaL_len(r->L, -1);
	for (lua_Integer i = 1; i <= n; i++) {
		lua_geti(r->L, -1, i);
		const char *role = lua_tostring(r->L, -1);
		int bit = role ? wisp_cfg_listed(wisp_role_names, role) : -1;
		if (bit < 0)
			return wisp_cfg_fail(r, "unknown role '%s' in %s (roles are root, "
				"node, net, db)", role ? role : "?", where);
		*roles |= 1u << bit;
		lua_pop(r->L, 1);
	}
	lua_pop(r->L, 1);
	return 0;
}

/* The table form's own mailbox limits, over the node's. */
static int read_service_limits(struct reader *r, const char *where,
	struct wisp_service_spec *s)
{
	static const char *const keys[] = { "mailbox_limit", "mailbox_bytes",
		NULL };
	lua_Integer mail = 0, bytes = 0;
	lua_pushnil(r->L);
	while (lua_next(r->L, -2)) {
		lua_pop(r->L, 1);
		if (lua_type(r->L, -1) == LUA_TSTRING
			&& wisp_cfg_listed(keys, lua_tostring(r->L, -1)) < 0) {
			wisp_cfg_fail(r, "unknown key '%s' in a service of %s (known: "
				"mailbox_limit, mailbox_bytes)", lua_tostring(r->L, -1), where);
			lua_pop(r->L, 1);
			return -1;
		}
	}
	if (wisp_cfg_integer(r, where, "mailbox_limit", 1, UINT32_MAX, &mail) < 0
		|| wisp_cfg_integer(r, where, "mailbox_bytes", 1,
			(lua_Integer)1 << 40, &bytes) < 0)
		return -1;
	s->mailbox_limit = (uint32_t)mail;
	s->mailbox_bytes = (size_t)bytes;
	return 0;
}

/* A service is "module args..." or { "module", "args", mailbox_limit = N,
 * mailbox_bytes = N }. */
static int read_service(struct reader *r, const char *where,
	struct wisp_service_spec *s)
{
	const char *module, *args = "";
	size_t len;
	s->mailbox_limit = 0;
	s->mailbox_bytes = 0;
	if (lua_type(r->L, -1) == LUA_TTABLE) {
		if (read_service_limits(r, where, s) < 0)
			return -1;
		lua_geti(r->L, -1, 1);
		lua_geti(r->L, -2, 2);
		module = lua_tostring(r->L, -2);
		args = lua_isnil(r->L, -1) ? "" : lua_tostring(r->L, -1);
		len = module ? strlen(module) : 0;
	} else {
		module = lua_tostring(r->L, -1);
		len = module ? strcspn(module, " ") : 0;
		if (module && module[len])
			args = module + len + 1;
	}
	if (module == NULL || len == 0 || args == NULL)
		return wisp_cfg_fail(r, "a service in %s must be \"module args\" or "
			"{ \"module\", \"args\" }", where);
	s->module = memcpy(wisp_malloc(len + 1), module, len);
	s->module[len] = '\0';
	s->args = wisp_strdup(args);
	return 0;
}

static int read_services(struct reader *r, const char *where,
	struct wisp_config *cfg)
{
	int got = wisp_cfg_field(r, where, "services", LUA_TTABLE, "a list of services");
	if (got != 0)
		return got < 0 ? -1 : 0;
	lua_Integer n = luaL_len(r->L, -1);
	cfg->services = wisp_malloc((size_t)(n + 1) * sizeof(*cfg->services));
	for (lua_Integer i = 1; i <= n; i++) {
		int top = lua_gettop(r->L);
		lua_geti(r->L, -1, i);
		if (read_service(r, where, &cfg->services[cfg->service_count]) < 0)
			return -1;
		cfg->service_count++;
		lua_settop(r->L, top);
	}
	lua_pop(r->L, 1);
	return 0;
}

/* Settings a node may override: its own log and env. */
int wisp_cfg_read_common(struct reader *r, const char *where,
	struct wisp_config *cfg)
{
	lua_Integer rate = cfg->log_rate;
	if (read_level(r, where, cfg) < 0 || read_env(r, where, cfg) < 0
		|| wisp_cfg_integer(r, where, "log_rate", 0, 1000000, &rate) < 0)
		return -1;
	cfg->log_rate = (uint32_t)rate;
	return wisp_cfg_string(r, where, "log_file", &cfg->log_file);
}

/* t[key] = "host:port" (wisp_cfg_split_address) into *host and *port;
 * *host stays NULL when the key is absent. */
static int read_address(struct reader *r, const char *where, const char *key,
	char **host, int *port)
{
	char *text = NULL;
	if (wisp_cfg_string(r, where, key, &text) < 0 || text == NULL)
		return text ? 0 : (r->err[0] ? -1 : 0);
	char *h;
	if (wisp_cfg_split_address(text, &h, port) < 0) {
		wisp_free(text);
		return wisp_cfg_fail(r, "key '%s' in %s must be \"host:port\"", key,
			where);
	}
	*host = h; /* the start of text, which it owns */
	return 0;
}

/* harbor, and harbor_listen, which needs harbor. */
static int read_addresses(struct reader *r, const char *where,
	struct wisp_peer *p)
{
	if (read_address(r, where, "harbor", &p->host, &p->port) < 0
		|| read_address(r, where, "harbor_listen", &p->listen_host,
			&p->listen_port) < 0)
		return -1;
	if (p->listen_host && p->host == NULL)
		return wisp_cfg_fail(r, "key 'harbor_listen' in %s needs 'harbor', "
			"the address its peers dial", where);
	return 0;
}

/* The node table on top: its id, roles and harbor address. */
static int read_peer(struct reader *r, const char *name, struct wisp_peer *p)
{
	char where[128];
	snprintf(where, sizeof(where), "nodes.%s", name);
	if (!lua_istable(r->L, -1))
		return wisp_cfg_fail(r, "%s must be a table", where);
	if (!wisp_name_valid(name))
		return wisp_cfg_fail(r, "'%s' is not a valid node name (1 to 63 "
			"characters of A-Z a-z 0-9 _ . -)", name);
	lua_Integer id = 0;
	int got = wisp_cfg_integer(r, where, "id", 1, WISP_MAX_NODE, &id);
	if (got > 0)
		return wisp_cfg_fail(r, "missing required key 'id' in %s", where);
	p->name = wisp_strdup(name);
	p->id = (uint32_t)id;
	p->roles = WISP_ROLE_NODE;
	if (got < 0 || wisp_cfg_check_node_keys(r, where, node_keys) < 0
		|| read_roles(r, where, &p->roles) < 0)
		return -1;
	return read_addresses(r, where, p);
}

/* by_id[id] is 1 + the index of the peer read with that id, or 0: every
 * node checks a config of a thousand nodes as it starts, so no pairs. */
static int check_unique(struct reader *r, const struct wisp_config *cfg,
	const struct wisp_peer *p, size_t by_id[])
{
	size_t other = by_id[p->id];
	if (other)
		return wisp_cfg_fail(r, "nodes.%s and nodes.%s have the same id %u",
			cfg->peers[other - 1].name, p->name, p->id);
	by_id[p->id] = cfg->peer_count; /* p is the last */
	return 0;
}

/* The sections' part of the node table on top (p's): every node's is
 * checked, the named node's kept. */
static int read_sections(struct reader *r, const struct wisp_peer *p,
	int self, struct wisp_config *cfg)
{
	char where[128];
	snprintf(where, sizeof(where), "nodes.%s", p->name);
	r->node = p;
	r->self = self;
	int rc = wisp_cfg_sections_read_node(r, where, cfg);
	r->node = NULL; /* p moves as peers grow */
	r->self = 0;
	return rc;
}

/* Every node of the nodes table on top, in id order. */
static int read_peers(struct reader *r, const char *node,
	struct wisp_config *cfg)
{
	size_t by_id[WISP_MAX_NODE + 1] = { 0 }, room = 0;
	lua_pushnil(r->L);
	while (lua_next(r->L, -2)) {
		if (lua_type(r->L, -2) != LUA_TSTRING)
			return wisp_cfg_fail(r, "nodes are named by strings");
		if (cfg->peer_count == room) {
			room = room ? room * 2 : 16;
			cfg->peers = wisp_realloc(cfg->peers, room * sizeof(*cfg->peers));
		}
		struct wisp_peer *p = &cfg->peers[cfg->peer_count];
		memset(p, 0, sizeof(*p));
		/* counted before it is read, so that free sees what is read of it
		 * when a read fails, or raises (config.c's run_job) */
		cfg->peer_count++;
		const char *name = lua_tostring(r->L, -2);
		int bad = read_peer(r, name, p) < 0
			|| check_unique(r, cfg, p, by_id) < 0
			|| read_sections(r, p, strcmp(name, node) == 0, cfg) < 0;
		if (bad)
			return -1;
		lua_pop(r->L, 1);
	}
	return 0;
}

/* The node this process runs: its services and its own settings. */
static int read_self(struct reader *r, const char *node,
	struct wisp_config *cfg)
{
	char where[128];
	snprintf(where, sizeof(where), "nodes.%s", node);
	const struct wisp_peer *self = wisp_config_peer(cfg, node);
	if (self == NULL)
		return wisp_cfg_fail(r, "no node named '%s' in nodes", node);
	cfg->node_id = self->id;
	cfg->roles = self->roles;
	lua_getfield(r->L, -1, node);
	if (read_services(r, where, cfg) < 0
		|| wisp_cfg_read_common(r, where, cfg) < 0)
		return -1;
	lua_pop(r->L, 1);
	return 0;
}

int wisp_cfg_read_nodes(struct reader *r, const char *node,
	struct wisp_config *cfg)
{
	return read_peers(r, node, cfg) < 0 ? -1 : read_self(r, node, cfg);
}

const struct wisp_peer *wisp_config_peer(const struct wisp_config *cfg,
	const char *name)
{
	for (size_t i = 0; i < cfg->peer_count; i++)
		if (strcmp(cfg->peers[i].name, name) == 0)
			return &cfg->peers[i];
	return NULL;
}

const struct wisp_peer *wisp_config_peer_id(const struct wisp_config *cfg,
	uint32_t id)
{
	for (size_t i = 0; i < cfg->peer_count; i++)
		if (cfg->peers[i].id == id)
			return &cfg->peers[i];
	return NULL;
}

const char *wisp_peer_listen_host(const struct wisp_peer *p)
{
	return p->listen_host ? p->listen_host : p->host;
}

int wisp_peer_listen_port(const struct wisp_peer *p)
{
	return p->listen_host ? p->listen_port : p->port;
}
