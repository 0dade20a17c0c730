/* config_gate.c: the gate's section of the config: the `gate` table of
 * the top level, and then a net node's own over it, key by key: the
 * client protocol, the listen address, the limits and the routes of
 * command ids to services. */
#include <lauxlib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "gate_config.h"
#include "wisp.h"

/* What no key's own default says. */
static void gate_defaults(void *settings)
{
	struct wisp_gate_settings *g = settings;
	memcpy(g->magic, "WISP", sizeof(g->magic));
	g->error_frames = 1;
	g->error_command = UINT32_MAX;
}

static void free_origins(struct wisp_gate_settings *g)
{
	for (size_t i = 0; i < g->ws_origin_count; i++)
		wisp_free(g->ws_origins[i]);
	wisp_free(g->ws_origins);
	g->ws_origins = NULL;
	g->ws_origin_count = 0;
}

/* What the custom keys hold (events, a string key, is freed already). */
static void gate_free(void *settings)
{
	struct wisp_gate_settings *g = settings;
	for (size_t i = 0; i < g->route_count; i++)
		wisp_free(g->routes[i].service);
	wisp_free(g->routes);
	wisp_free(g->host);
	wisp_free(g->ws_host);
	wisp_free(g->tls_cert);
	wisp_free(g->tls_key);
	g->tls_cert = g->tls_key = NULL;
	free_origins(g);
	g->routes = NULL;
	g->route_count = 0;
	g->host = g->ws_host = NULL;
}

/* key = "host:port" (wisp_cfg_split_address) into *host and *port. */
static int read_address(struct reader *r, const char *where,
	const char *key, char **host, int *port)
{
	char *text = NULL;
	if (wisp_cfg_string(r, where, key, &text) < 0)
		return -1;
	if (text == NULL)
		return 0;
	char *at;
	if (wisp_cfg_split_address(text, &at, port) < 0) {
		wisp_free(text);
		return wisp_cfg_fail(r, "key '%s' in %s must be \"host:port\" "
			"(port 1 to 65535)", key, where);
	}
	wisp_free(*host);
	*host = at; /* the start of text, which it owns */
	return 0;
}

static int read_listen(struct reader *r, const char *where,
	const struct wisp_cfg_key *k, void *settings)
{
	struct wisp_gate_settings *g = settings;
	(void)k;
	return read_address(r, where, "listen", &g->host, &g->port);
}

/* ws_listen: where WebSocket clients connect; absent, nowhere. */
static int read_ws_listen(struct reader *r, const char *where,
	const struct wisp_cfg_key *k, void *settings)
{
	struct wisp_gate_settings *g = settings;
	(void)k;
	return read_address(r, where, "ws_listen", &g->ws_host, &g->ws_port);
}

/* ws_origins = { "https://game.example", ... }: the Origin values a
 * WebSocket client may come from, replacing any list read before. Absent,
 * any origin may connect (and clients that send none, as non-browsers
 * do): a browser page from anywhere can then reach the gate. */
static int read_ws_origins(struct reader *r, const char *where,
	const struct wisp_cfg_key *k, void *settings)
{
	struct wisp_gate_settings *g = settings;
	(void)k;
	int got = wisp_cfg_field(r, where, "ws_origins", LUA_TTABLE,
		"a list of strings (Origin values)");
	if (got != 0)
		return got < 0 ? -1 : 0;
	free_origins(g);
	lua_Integer n = luaL_len(r->L, -1);
	g->ws_origins = wisp_malloc((size_t)(n + 1) * sizeof(char *));
	for (lua_Integer i = 1; i <= n; i++) {
		const char *origin = lua_geti(r->L, -1, i) == LUA_TSTRING
			? lua_tostring(r->L, -1) : NULL;
		if (origin == NULL || origin[0] == '\0')
			return wisp_cfg_fail(r, "%s.ws_origins[%lld] must be a non-empty "
				"string, as \"https://game.example\"", where, (long long)i);
		g->ws_origins[g->ws_origin_count++] = wisp_strdup(origin);
		lua_pop(r->L, 1);
	}
	lua_pop(r->L, 1);
	return 0;
}

/* tls = { cert = FILE, key = FILE }: TLS for clients on listen and
 * ws_listen, both files PEM (cert may hold the chain); read by the gate
 * at start (tls.c), where a bad file is an error, and on SIGHUP. */
static int read_tls(struct reader *r, const char *where,
	const struct wisp_cfg_key *k, void *settings)
{
	static const char *const keys[] = { "cert", "key", NULL };
	struct wisp_gate_settings *g = settings;
	char at[128];
	(void)k;
	int got = wisp_cfg_field(r, where, "tls", LUA_TTABLE,
		"a table { cert = FILE, key = FILE }");
	if (got != 0)
		return got < 0 ? -1 : 0;
	snprintf(at, sizeof(at), "%s.tls", where);
	int rc = wisp_cfg_check_keys(r, at, keys) < 0
		|| wisp_cfg_string(r, at, "cert", &g->tls_cert) < 0
		|| wisp_cfg_string(r, at, "key", &g->tls_key) < 0 ? -1 : 0;
	lua_pop(r->L, 1);
	if (rc == 0 && (g->tls_cert == NULL || g->tls_key == NULL))
		return wisp_cfg_fail(r, "%s needs both cert and key (PEM files)", at);
	return rc;
}

/* magic: the 4 bytes every client frame starts with; a string only, not
 * a number that happens to print as 4 characters. */
static int read_magic(struct reader *r, const char *where,
	const struct wisp_cfg_key *k, void *settings)
{
	struct wisp_gate_settings *g = settings;
	(void)k;
	int got = wisp_cfg_field(r, where, "magic", LUA_TSTRING, "a string");
	if (got != 0)
		return got < 0 ? -1 : 0;
	size_t len = 0;
	const char *magic = lua_type(r->L, -1) == LUA_TSTRING
		? lua_tolstring(r->L, -1, &len) : NULL;
	if (magic == NULL || len != sizeof(g->magic))
		return wisp_cfg_fail(r, "key 'magic' in %s must be a string of "
			"exactly 4 bytes", where);
	memcpy(g->magic, magic, sizeof(g->magic));
	lua_pop(r->L, 1);
	return 0;
}

/* error_command: the command id of error frames (any u32; as CLIENT.md
 * says, one no client uses, 4294967295 by default), or false for none:
 * a client that knows nothing of them is then told nothing. */
static int read_error_command(struct reader *r, const char *where,
	const struct wisp_cfg_key *k, void *settings)
{
	struct wisp_gate_settings *g = settings;
	(void)k;
	if (lua_getfield(r->L, -1, "error_command") == LUA_TBOOLEAN) {
		int on = lua_toboolean(r->L, -1);
		lua_pop(r->L, 1);
		if (on)
			return wisp_cfg_fail(r, "key 'error_command' in %s must be a "
				"command id, or false for no error frames", where);
		g->error_frames = 0;
		return 0;
	}
	lua_pop(r->L, 1);
	lua_Integer command = g->error_command;
	int got = wisp_cfg_integer(r, where, "error_command", 0, UINT32_MAX,
		&command);
	if (got < 0)
		return -1;
	if (got == 0)
		g->error_frames = 1;
	g->error_command = (uint32_t)command;
	return 0;
}

/* The ids of the entry on top, its first count items, into ids. */
static int read_ids(struct reader *r, const char *where, lua_Integer i,
	lua_Integer count, lua_Integer *ids)
{
	for (lua_Integer k = 0; k < count; k++) {
		int ok = 0;
		if (lua_geti(r->L, -1, k + 1) == LUA_TNUMBER)
			ids[k] = lua_tointegerx(r->L, -1, &ok);
		lua_pop(r->L, 1);
		if (!ok || ids[k] < 0 || ids[k] > UINT32_MAX)
			return wisp_cfg_fail(r, "%s.commands[%lld]: a command id must be "
				"an integer from 0 to %lu", where, (long long)i,
				(unsigned long)UINT32_MAX);
	}
	return 0;
}

/* The entry on top's `ordered` flag: true unless it says false. */
static int read_ordered(struct reader *r, const char *where, lua_Integer i,
	int *ordered)
{
	int type = lua_getfield(r->L, -1, "ordered");
	*ordered = type == LUA_TNIL || lua_toboolean(r->L, -1);
	lua_pop(r->L, 1);
	if (type != LUA_TNIL && type != LUA_TBOOLEAN)
		return wisp_cfg_fail(r, "%s.commands[%lld]: 'ordered' must be true "
			"or false", where, (long long)i);
	return 0;
}

/* The entry on top, { ID, "service" } or { FIRST, LAST, "service" } with
 * an optional ordered = false, into *route; its service is copied only
 * when the entry is good. */
static int read_route(struct reader *r, const char *where, lua_Integer i,
	struct wisp_command_route *route)
{
	lua_Integer n = lua_istable(r->L, -1) ? luaL_len(r->L, -1) : 0, ids[2];
	if (n != 2 && n != 3)
		return wisp_cfg_fail(r, "%s.commands[%lld] must be { ID, \"service\" } "
			"or { FIRST, LAST, \"service\" }", where, (long long)i);
	if (read_ids(r, where, i, n - 1, ids) < 0)
		return -1;
	ids[1] = ids[n - 2]; /* a single id is a range of one */
	if (ids[0] > ids[1])
		return wisp_cfg_fail(r, "%s.commands[%lld]: first %lld is above "
			"last %lld", where, (long long)i, (long long)ids[0],
			(long long)ids[1]);
	int ordered;
	if (read_ordered(r, where, i, &ordered) < 0)
		return -1;
	lua_geti(r->L, -1, n);
	const char *service = lua_type(r->L, -1) == LUA_TSTRING
		? lua_tostring(r->L, -1) : NULL;
	if (service == NULL || service[0] == '\0')
		return wisp_cfg_fail(r, "%s.commands[%lld]: the service must be a "
			"non-empty string (a name or \"name@node\")", where, (long long)i);
	*route = (struct wisp_command_route){ .first = (uint32_t)ids[0],
		.last = (uint32_t)ids[1], .service = wisp_strdup(service),
		.ordered = ordered };
	lua_pop(r->L, 1);
	return 0;
}

static int by_first(const void *a, const void *b)
{
	const struct wisp_command_route *x = a, *y = b;
	return x->first < y->first ? -1 : x->first > y->first;
}

static void describe(const struct wisp_command_route *route, char *buf,
	size_t size)
{
	if (route->first == route->last)
		snprintf(buf, size, "%lu (%s)", (unsigned long)route->first,
			route->service);
	else
		snprintf(buf, size, "%lu..%lu (%s)", (unsigned long)route->first,
			(unsigned long)route->last, route->service);
}

/* Sorted by first, a route overlaps another only if it overlaps the one
 * before it. */
static int check_overlaps(struct reader *r, const char *where,
	const struct wisp_gate_settings *g)
{
	for (size_t i = 1; i < g->route_count; i++) {
		const struct wisp_command_route *prev = &g->routes[i - 1];
		const struct wisp_command_route *cur = &g->routes[i];
		if (cur->first > prev->last)
			continue;
		char a[160], b[160];
		describe(cur, a, sizeof(a));
		describe(prev, b, sizeof(b));
		return wisp_cfg_fail(r, "%s.commands: %s overlaps %s", where, a, b);
	}
	return 0;
}

/* commands = { entry, ... }: the whole list, replacing any read before. */
static int read_commands(struct reader *r, const char *where,
	const struct wisp_cfg_key *k, void *settings)
{
	struct wisp_gate_settings *g = settings;
	(void)k;
	int got = wisp_cfg_field(r, where, "commands", LUA_TTABLE,
		"a list of { ID, \"service\" } or { FIRST, LAST, \"service\" }");
	if (got != 0)
		return got < 0 ? -1 : 0;
	for (size_t i = 0; i < g->route_count; i++)
		wisp_free(g->routes[i].service);
	g->route_count = 0;
	lua_Integer n = luaL_len(r->L, -1);
	g->routes = wisp_realloc(g->routes,
		(size_t)(n + 1) * sizeof(*g->routes));
	for (lua_Integer i = 1; i <= n; i++) {
		int top = lua_gettop(r->L);
		lua_geti(r->L, -1, i);
		if (read_route(r, where, i, &g->routes[g->route_count]) < 0)
			return -1;
		g->route_count++;
		lua_settop(r->L, top);
	}
	qsort(g->routes, g->route_count, sizeof(*g->routes), by_first);
	lua_pop(r->L, 1);
	return check_overlaps(r, where, g);
}

#define GATE_INT(name, field, min, max, def) \
	WISP_CFG_INT_KEY(name, struct wisp_gate_settings, field, min, max, def)
#define GATE_CUSTOM(name, read) \
	{ name, WISP_CFG_CUSTOM, 0, 0, 0, 0, 0, NULL, NULL, read }

/* The keys of a gate table, read in this order. max_body stops 4 short
 * of UINT32_MAX because the length field of a frame counts the command id
 * too. Neither max_inflight nor reply_timeout can be off: a client must
 * not queue without bound, nor a command wait forever for a service that
 * never answers. */
static const struct wisp_cfg_key gate_keys[] = {
	GATE_CUSTOM("listen", read_listen),
	GATE_CUSTOM("ws_listen", read_ws_listen),
	GATE_CUSTOM("ws_origins", read_ws_origins),
	GATE_CUSTOM("tls", read_tls),
	GATE_CUSTOM("magic", read_magic),
	GATE_INT("version", proto_version, 0, 255, 1),
	GATE_INT("server_version", server_version, 0, UINT32_MAX, 1),
	GATE_INT("max_body", max_body, 1, UINT32_MAX - 4, 65536),
	GATE_INT("max_connections", max_connections, 1, 1000000, 10000),
	GATE_INT("output_limit", output_limit, 1024, (lua_Integer)1 << 40,
		256 << 10),
	GATE_INT("idle_timeout", idle_timeout_ms, 0, 86400000, 120000),
	GATE_INT("rate_limit", rate_limit, 0, 1000000, 0),
	GATE_INT("rate_burst", rate_burst, 0, 1000000, 0),
	GATE_INT("frame_timeout", frame_timeout_ms, 0, 86400000, 10000),
	GATE_INT("first_frame_timeout", first_frame_timeout_ms, 0, 86400000,
		10000),
	GATE_INT("max_per_address", max_per_address, 0, 1000000, 256),
	GATE_INT("partial_budget", partial_budget, 0, (lua_Integer)1 << 40,
		64 << 20),
	GATE_INT("max_inflight", max_inflight, 1, 65535, 16),
	GATE_INT("reply_timeout", reply_timeout_ms, 1, 86400000, 30000),
	{ "request_ids", WISP_CFG_BOOL,
		WISP_CFG_FIELD(struct wisp_gate_settings, request_ids), 0, 0, 0,
		NULL, NULL, NULL },
	GATE_CUSTOM("error_command", read_error_command),
	{ "events", WISP_CFG_STRING,
		WISP_CFG_FIELD(struct wisp_gate_settings, events), 0, 0, 0, NULL,
		NULL, NULL },
	GATE_CUSTOM("commands", read_commands),
	{ NULL, 0, 0, 0, 0, 0, 0, NULL, NULL, NULL },
};

/* The top level's `gate`. */
static const struct wisp_cfg_key top_keys[] = {
	{ "gate", WISP_CFG_TABLE, 0, 0, 0, 0, 0, NULL, gate_keys, NULL },
	{ NULL, 0, 0, 0, 0, 0, 0, NULL, NULL, NULL },
};

/* A net node must say where clients connect, and the error frames' id
 * must not be one its routes use. */
static int check_net_node(struct reader *r, const char *owner,
	const struct wisp_gate_settings *g)
{
	if (g->host == NULL)
		return wisp_cfg_fail(r, "%s has the net role but no gate.listen "
			"(\"host:port\" for clients)", owner);
	if (g->error_frames && wisp_gate_settings_route(g, g->error_command))
		return wisp_cfg_fail(r, "%s: gate.error_command %lu is routed by "
			"gate.commands too, so clients could not tell its replies from "
			"error frames", owner, (unsigned long)g->error_command);
	return 0;
}

/* Another node's gate table, checked as its own node would read it (over
 * the defaults here, as the top level's keys were checked already). */
static int check_other(struct reader *r, const char *owner)
{
	struct wisp_gate_settings g;
	memset(&g, 0, sizeof(g));
	wisp_cfg_key_defaults(gate_keys, &g);
	gate_defaults(&g);
	int rc = wisp_cfg_read_keys(r, owner, top_keys, &g);
	wisp_cfg_key_free(gate_keys, &g);
	gate_free(&g);
	return rc;
}

/* The node table on top: only a net node has a gate table; the running
 * node's goes over the top level's, and it must then be whole. */
static int read_node(struct reader *r, const char *owner, void *settings)
{
	int type = lua_getfield(r->L, -1, "gate");
	lua_pop(r->L, 1);
	if (!(r->node->roles & WISP_ROLE_NET))
		return type == LUA_TNIL || !r->self ? 0 : wisp_cfg_fail(r,
			"%s has a gate table but not the net role", owner);
	if (!r->self)
		return check_other(r, owner);
	if (wisp_cfg_read_keys(r, owner, top_keys, settings) < 0)
		return -1;
	return check_net_node(r, owner, settings);
}

static const char *const node_keys[] = { "gate", NULL };

/* For `wisp --check`: the listeners, and the services the routes and
 * events name. */
static void gate_check(const void *settings, const struct wisp_config *cfg,
	struct wisp_check *c)
{
	const struct wisp_gate_settings *g = settings;
	char what[64];
	if (g->host)
		wisp_check_listen(c, "gate.listen", g->host, g->port);
	if (g->ws_host)
		wisp_check_listen(c, "gate.ws_listen", g->ws_host, g->ws_port);
	if (g->events)
		wisp_check_service(c, cfg, "gate.events", g->events);
	for (size_t i = 0; i < g->route_count; i++) {
		snprintf(what, sizeof(what), "the route of gate.commands %lu",
			(unsigned long)g->routes[i].first);
		wisp_check_service(c, cfg, what, g->routes[i].service);
	}
}

const struct wisp_cfg_section wisp_gate_config = {
	.name = "gate",
	.size = sizeof(struct wisp_gate_settings),
	.keys = top_keys,
	.node_keys = node_keys,
	.read_node = read_node,
	.defaults = gate_defaults,
	.free = gate_free,
	.check = gate_check,
};

const struct wisp_gate_settings *wisp_gate_settings(
	const struct wisp_config *cfg)
{
	return wisp_config_section(cfg, &wisp_gate_config);
}

const struct wisp_command_route *wisp_gate_settings_route(
	const struct wisp_gate_settings *g, uint32_t command)
{
	size_t lo = 0, hi = g->route_count;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct wisp_command_route *route = &g->routes[mid];
		if (command < route->first)
			hi = mid;
		else if (command > route->last)
			lo = mid + 1;
		else
			return route;
	}
	return NULL;
}
