/* config.c: reads a config file with the embedded Lua and checks it
 * against what wisp knows: an unknown key, a missing required key or a
 * value of the wrong type is an error naming the key and where it is. */
#include <lauxlib.h>
#include <lualib.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "config.h"
#include "log.h"
#include "wisp.h"

struct reader {
	lua_State *L;
	const char *file;
	char *err;
	size_t errsz;
};

static const char *const top_keys[] = { "cluster", "nodes", "module_path",
	"log_level", "log_file", "socket_write_limit", "stop_timeout", "env",
	"lua_path", "call_timeout", "lua_memory_limit", "lua_handler_budget",
	NULL };
static const char *const node_keys[] = { "id", "roles", "services",
	"log_level", "log_file", "env", NULL };
static const char *const role_names[] = { "root", "node", "net", "db", NULL };

static int fail(struct reader *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int fail(struct reader *r, const char *fmt, ...)
{
	int n = snprintf(r->err, r->errsz, "%s: ", r->file);
	va_list ap;
	va_start(ap, fmt);
	if (n >= 0 && (size_t)n < r->errsz)
		vsnprintf(r->err + n, r->errsz - (size_t)n, fmt, ap);
	va_end(ap);
	return -1;
}

static int listed(const char *const *list, const char *s)
{
	for (int i = 0; list[i]; i++)
		if (strcmp(list[i], s) == 0)
			return i;
	return -1;
}

/* Every key of the table on top of the stack must be in allowed. */
static int check_keys(struct reader *r, const char *where,
	const char *const *allowed)
{
	lua_pushnil(r->L);
	while (lua_next(r->L, -2)) {
		lua_pop(r->L, 1);
		if (lua_type(r->L, -1) != LUA_TSTRING
			|| listed(allowed, lua_tostring(r->L, -1)) < 0) {
			const char *key = luaL_tolstring(r->L, -1, NULL);
			return fail(r, "unknown key '%s' in %s", key, where);
		}
	}
	return 0;
}

/* Pushes t[key] for the table on top; 0 if present, 1 if nil, -1 if of
 * the wrong type (then nothing is pushed). */
static int field(struct reader *r, const char *where, const char *key,
	int type, const char *type_name)
{
	int t = lua_getfield(r->L, -1, key);
	if (t == LUA_TNIL) {
		lua_pop(r->L, 1);
		return 1;
	}
	if (t != type && !(type == LUA_TSTRING && t == LUA_TNUMBER)) {
		lua_pop(r->L, 1);
		return fail(r, "key '%s' in %s must be %s", key, where, type_name);
	}
	return 0;
}

static int read_string(struct reader *r, const char *where, const char *key,
	char **out)
{
	int got = field(r, where, key, LUA_TSTRING, "a string");
	if (got != 0)
		return got < 0 ? -1 : 0;
	wisp_free(*out);
	*out = wisp_strdup(lua_tostring(r->L, -1));
	lua_pop(r->L, 1);
	return 0;
}

static int read_integer(struct reader *r, const char *where, const char *key,
	lua_Integer min, lua_Integer max, lua_Integer *out)
{
	int got = field(r, where, key, LUA_TNUMBER, "an integer");
	if (got != 0)
		return got;
	int ok;
	lua_Integer v = lua_tointegerx(r->L, -1, &ok);
	lua_pop(r->L, 1);
	if (!ok || v < min || v > max)
		return fail(r, "key '%s' in %s must be an integer from %lld to %lld",
			key, where, (long long)min, (long long)max);
	*out = v;
	return 0;
}

static int read_level(struct reader *r, const char *where,
	struct wisp_config *cfg)
{
	char *name = NULL;
	if (read_string(r, where, "log_level", &name) < 0)
		return -1;
	if (name == NULL)
		return 0;
	cfg->log_level = wisp_log_level_parse(name);
	wisp_free(name);
	if (cfg->log_level < 0)
		return fail(r, "key 'log_level' in %s must be one of debug, info, "
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
	int got = field(r, where, "env", LUA_TTABLE, "a table");
	if (got != 0)
		return got < 0 ? -1 : 0;
	lua_pushnil(r->L);
	while (lua_next(r->L, -2)) {
		int vt = lua_type(r->L, -1);
		if (lua_type(r->L, -2) != LUA_TSTRING
			|| !(vt == LUA_TSTRING || vt == LUA_TNUMBER || vt == LUA_TBOOLEAN))
			return fail(r, "env in %s takes string keys and string, "
				"number or boolean values", where);
		const char *value = luaL_tolstring(r->L, -1, NULL);
		set_env(cfg, lua_tostring(r->L, -3), value);
		lua_pop(r->L, 2);
	}
	lua_pop(r->L, 1);
	return 0;
}

static int read_roles(struct reader *r, const char *where,
	struct wisp_config *cfg)
{
	int got = field(r, where, "roles", LUA_TTABLE, "a list of roles");
	if (got != 0)
		return got < 0 ? -1 : 0;
	cfg->roles = 0;
	lua_Integer n = luaL_len(r->L, -1);
	for (lua_Integer i = 1; i <= n; i++) {
		lua_geti(r->L, -1, i);
		const char *role = lua_tostring(r->L, -1);
		int bit = role ? listed(role_names, role) : -1;
		if (bit < 0)
			return fail(r, "unknown role '%s' in %s (roles are root, node, "
				"net, db)", role ? role : "?", where);
		cfg->roles |= 1u << bit;
		lua_pop(r->L, 1);
	}
	lua_pop(r->L, 1);
	return 0;
}

/* A service is "module args..." or { "module", "args" }. */
static int read_service(struct reader *r, const char *where,
	struct wisp_service_spec *s)
{
	const char *module, *args = "";
	size_t len;
	if (lua_type(r->L, -1) == LUA_TTABLE) {
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
		return fail(r, "a service in %s must be \"module args\" or "
			"{ \"module\", \"args\" }", where);
	s->module = memcpy(wisp_malloc(len + 1), module, len);
	s->module[len] = '\0';
	s->args = wisp_strdup(args);
	return 0;
}

static int read_services(struct reader *r, const char *where,
	struct wisp_config *cfg)
{
	int got = field(r, where, "services", LUA_TTABLE, "a list of services");
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
static int read_common(struct reader *r, const char *where,
	struct wisp_config *cfg)
{
	if (read_level(r, where, cfg) < 0 || read_env(r, where, cfg) < 0)
		return -1;
	return read_string(r, where, "log_file", &cfg->log_file);
}

static int read_node(struct reader *r, const char *node,
	struct wisp_config *cfg)
{
	char where[128];
	snprintf(where, sizeof(where), "nodes.%s", node);
	if (lua_getfield(r->L, -1, node) != LUA_TTABLE)
		return fail(r, "no node named '%s' in nodes", node);
	lua_Integer id = 0;
	int got = read_integer(r, where, "id", 1, WISP_MAX_NODE, &id);
	if (got > 0)
		return fail(r, "missing required key 'id' in %s", where);
	if (got < 0 || check_keys(r, where, node_keys) < 0
		|| read_roles(r, where, cfg) < 0 || read_services(r, where, cfg) < 0
		|| read_common(r, where, cfg) < 0)
		return -1;
	cfg->node_id = (uint32_t)id;
	lua_pop(r->L, 1);
	return 0;
}

/* Integer settings of the top level: key, range, where it goes. */
static int read_limits(struct reader *r, struct wisp_config *cfg)
{
	const char *w = "the config";
	lua_Integer limit = (lua_Integer)cfg->socket_write_limit;
	lua_Integer stop = cfg->stop_timeout_ms, call = cfg->call_timeout_ms;
	lua_Integer mem = (lua_Integer)cfg->lua_memory_limit;
	lua_Integer budget = cfg->lua_budget_ms;
	if (read_integer(r, w, "socket_write_limit", 1, (lua_Integer)1 << 40,
			&limit) < 0
		|| read_integer(r, w, "stop_timeout", 0, 3600000, &stop) < 0
		|| read_integer(r, w, "call_timeout", 1, 86400000, &call) < 0
		|| read_integer(r, w, "lua_memory_limit", 0, (lua_Integer)1 << 40,
			&mem) < 0
		|| read_integer(r, w, "lua_handler_budget", 1, 3600000, &budget) < 0)
		return -1;
	cfg->socket_write_limit = (size_t)limit;
	cfg->stop_timeout_ms = (uint32_t)stop;
	cfg->call_timeout_ms = (uint32_t)call;
	cfg->lua_memory_limit = (size_t)mem;
	cfg->lua_budget_ms = (uint32_t)budget;
	return 0;
}

static int read_top(struct reader *r, const char *node,
	struct wisp_config *cfg)
{
	char *cluster = NULL;
	int bad = check_keys(r, "the config", top_keys) < 0
		|| read_string(r, "the config", "cluster", &cluster) < 0
		|| read_string(r, "the config", "module_path", &cfg->module_path) < 0
		|| read_string(r, "the config", "lua_path", &cfg->lua_path) < 0
		|| read_limits(r, cfg) < 0
		|| read_common(r, "the config", cfg) < 0;
	wisp_free(cluster);
	if (bad)
		return -1;
	if (field(r, "the config", "nodes", LUA_TTABLE, "a table") != 0)
		return r->err[0] ? -1 : fail(r, "missing required key 'nodes'");
	return read_node(r, node, cfg);
}

void wisp_config_defaults(struct wisp_config *cfg, const char *node)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->node = wisp_strdup(node);
	cfg->roles = WISP_ROLE_NODE;
	cfg->log_level = WISP_LOG_INFO;
	cfg->socket_write_limit = 4u << 20;
	cfg->stop_timeout_ms = 5000;
	cfg->call_timeout_ms = 10000;
	cfg->lua_budget_ms = 5000;
}

int wisp_config_load(const char *path, const char *node,
	struct wisp_config *cfg, char *err, size_t errsz)
{
	struct reader r = { luaL_newstate(), path, err, errsz };
	err[0] = '\0';
	wisp_config_defaults(cfg, node);
	luaL_openlibs(r.L);
	int rc = -1;
	if (luaL_loadfilex(r.L, path, "t") != LUA_OK
		|| lua_pcall(r.L, 0, 1, 0) != LUA_OK)
		snprintf(err, errsz, "%s", lua_tostring(r.L, -1));
	else if (!lua_istable(r.L, -1))
		fail(&r, "must return a table (return { nodes = { ... } })");
	else
		rc = read_top(&r, node, cfg);
	lua_close(r.L);
	if (rc < 0)
		wisp_config_free(cfg);
	return rc;
}

void wisp_config_free(struct wisp_config *cfg)
{
	for (size_t i = 0; i < cfg->service_count; i++) {
		wisp_free(cfg->services[i].module);
		wisp_free(cfg->services[i].args);
	}
	for (size_t i = 0; i < cfg->env_count; i++) {
		wisp_free(cfg->env[i].key);
		wisp_free(cfg->env[i].value);
	}
	wisp_free(cfg->services);
	wisp_free(cfg->env);
	wisp_free(cfg->node);
	wisp_free(cfg->module_path);
	wisp_free(cfg->log_file);
	wisp_free(cfg->lua_path);
	memset(cfg, 0, sizeof(*cfg));
}

const char *wisp_config_env(const struct wisp_config *cfg, const char *key)
{
	for (size_t i = 0; i < cfg->env_count; i++)
		if (strcmp(cfg->env[i].key, key) == 0)
			return cfg->env[i].value;
	return NULL;
}
