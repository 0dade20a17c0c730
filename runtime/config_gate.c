/* config_gate.c: the `gate` settings of a config, the top-level table
 * and then a node's own over it, key by key: the client protocol, the
 * listen address, the limits and the routes of command ids to services. */
#include <lauxlib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "config.h"
#include "config_reader.h"
#include "wisp.h"

static const char *const gate_keys[] = { "listen", "magic", "version",
	"server_version", "max_body", "max_connections", "output_limit",
	"idle_timeout", "rate_limit", "rate_burst", "frame_timeout",
	"first_frame_timeout", "max_per_address", "partial_budget",
	"max_inflight", "reply_timeout", "error_command", "request_ids", "events",
	"commands", NULL };

void wisp_cfg_gate_defaults(struct wisp_gate_settings *g)
{
	*g = (struct wisp_gate_settings){
		.magic = { 'W', 'I', 'S', 'P' },
		.proto_version = 1,
		.server_version = 1,
		.max_body = 65536,
		.max_connections = 10000,
		.output_limit = 256u << 10,
		.idle_timeout_ms = 120000,
		.frame_timeout_ms = 10000,
		.first_frame_timeout_ms = 10000,
		.max_per_address = 256,
		.partial_budget = 64u << 20,
		.max_inflight = 16,
		.reply_timeout_ms = 30000,
		.error_frames = 1,
		.error_command = UINT32_MAX,
	};
}

void wisp_cfg_gate_free(struct wisp_gate_settings *g)
{
	for (size_t i = 0; i < g->route_count; i++)
		wisp_free(g->routes[i].service);
	wisp_free(g->routes);
	wisp_free(g->host);
	wisp_free(g->events);
	memset(g, 0, sizeof(*g));
}

/* listen = "host:port" (wisp_cfg_split_address). */
static int read_listen(struct reader *r, const char *where,
	struct wisp_gate_settings *g)
{
	char *text = NULL;
	if (wisp_cfg_string(r, where, "listen", &text) < 0)
		return -1;
	if (text == NULL)
		return 0;
	char *host;
	int port;
	if (wisp_cfg_split_address(text, &host, &port) < 0) {
		wisp_free(text);
		return wisp_cfg_fail(r, "key 'listen' in %s must be \"host:port\" "
			"(port 1 to 65535)", where);
	}
	wisp_free(g->host);
	g->host = host; /* the start of text, which it owns */
	g->port = port;
	return 0;
}

/* magic: the 4 bytes every client frame starts with; a string only, not
 * a number that happens to print as 4 characters. */
static int read_magic(struct reader *r, const char *where,
	struct wisp_gate_settings *g)
{
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

/* The client protocol: magic bytes and versions. */
static int read_protocol(struct reader *r, const char *where,
	struct wisp_gate_settings *g)
{
	lua_Integer version = g->proto_version, server = g->server_version;
	if (read_magic(r, where, g) < 0
		|| wisp_cfg_integer(r, where, "version", 0, 255, &version) < 0
		|| wisp_cfg_integer(r, where, "server_version", 0, UINT32_MAX,
			&server) < 0)
		return -1;
	g->proto_version = (uint8_t)version;
	g->server_version = (uint32_t)server;
	return 0;
}

/* The limits on clients. max_body stops 4 short of UINT32_MAX because
 * the length field of a frame counts the command id too. */
static int read_limits(struct reader *r, const char *where,
	struct wisp_gate_settings *g)
{
	lua_Integer body = g->max_body, conns = g->max_connections;
	lua_Integer output = (lua_Integer)g->output_limit;
	lua_Integer idle = g->idle_timeout_ms, rate = g->rate_limit;
	lua_Integer burst = g->rate_burst;
	if (wisp_cfg_integer(r, where, "max_body", 1, UINT32_MAX - 4, &body) < 0
		|| wisp_cfg_integer(r, where, "max_connections", 1, 1000000,
			&conns) < 0
		|| wisp_cfg_integer(r, where, "output_limit", 1024,
			(lua_Integer)1 << 40, &output) < 0
		|| wisp_cfg_integer(r, where, "idle_timeout", 0, 86400000, &idle) < 0
		|| wisp_cfg_integer(r, where, "rate_limit", 0, 1000000, &rate) < 0
		|| wisp_cfg_integer(r, where, "rate_burst", 0, 1000000, &burst) < 0)
		return -1;
	g->max_body = (uint32_t)body;
	g->max_connections = (uint32_t)conns;
	g->output_limit = (size_t)output;
	g->idle_timeout_ms = (uint32_t)idle;
	g->rate_limit = (uint32_t)rate;
	g->rate_burst = (uint32_t)burst;
	return 0;
}

/* The limits that keep slow or many clients from holding the gate:
 * deadlines for frames, clients per address, bytes of unfinished frames. */
static int read_holding(struct reader *r, const char *where,
	struct wisp_gate_settings *g)
{
	lua_Integer frame = g->frame_timeout_ms;
	lua_Integer first = g->first_frame_timeout_ms;
	lua_Integer per_address = g->max_per_address;
	lua_Integer budget = (lua_Integer)g->partial_budget;
	if (wisp_cfg_integer(r, where, "frame_timeout", 0, 86400000, &frame) < 0
		|| wisp_cfg_integer(r, where, "first_frame_timeout", 0, 86400000,
			&first) < 0
		|| wisp_cfg_integer(r, where, "max_per_address", 0, 1000000,
			&per_address) < 0
		|| wisp_cfg_integer(r, where, "partial_budget", 0,
			(lua_Integer)1 << 40, &budget) < 0)
		return -1;
	g->frame_timeout_ms = (uint32_t)frame;
	g->first_frame_timeout_ms = (uint32_t)first;
	g->max_per_address = (uint32_t)per_address;
	g->partial_budget = (size_t)budget;
	return 0;
}

/* Flow control: commands of one client in flight at once (past them the
 * gate stops reading it), and how long one may stay in flight. Neither
 * can be off: a client must not queue without bound, nor a command wait
 * forever for a service that never answers. */
static int read_flow(struct reader *r, const char *where,
	struct wisp_gate_settings *g)
{
	lua_Integer inflight = g->max_inflight, reply = g->reply_timeout_ms;
	if (wisp_cfg_integer(r, where, "max_inflight", 1, 65535, &inflight) < 0
		|| wisp_cfg_integer(r, where, "reply_timeout", 1, 86400000,
			&reply) < 0)
		return -1;
	g->max_inflight = (uint32_t)inflight;
	g->reply_timeout_ms = (uint32_t)reply;
	return 0;
}

/* error_command: the command id of error frames (any u32; as CLIENT.md
 * says, one no client uses, 4294967295 by default), or false for none:
 * a client that knows nothing of them is then told nothing. */
static int read_error_command(struct reader *r, const char *where,
	struct wisp_gate_settings *g)
{
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

/* The client contract: error frames, request ids. */
static int read_contract(struct reader *r, const char *where,
	struct wisp_gate_settings *g)
{
	int got = wisp_cfg_field(r, where, "request_ids", LUA_TBOOLEAN,
		"a boolean");
	if (got < 0)
		return -1;
	if (got == 0) {
		g->request_ids = lua_toboolean(r->L, -1);
		lua_pop(r->L, 1);
	}
	return read_error_command(r, where, g);
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
	struct wisp_gate_settings *g)
{
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

/* The gate table on top, over what g holds. */
static int read_table(struct reader *r, const char *where,
	struct wisp_gate_settings *g)
{
	if (wisp_cfg_check_keys(r, where, gate_keys) < 0
		|| read_listen(r, where, g) < 0 || read_protocol(r, where, g) < 0
		|| read_limits(r, where, g) < 0 || read_holding(r, where, g) < 0
		|| read_flow(r, where, g) < 0 || read_contract(r, where, g) < 0
		|| wisp_cfg_string(r, where, "events", &g->events) < 0)
		return -1;
	return read_commands(r, where, g);
}

/* The table on top's `gate` field, if any; where names that field. */
int wisp_cfg_read_gate(struct reader *r, const char *owner, const char *where,
	struct wisp_gate_settings *g)
{
	int got = wisp_cfg_field(r, owner, "gate", LUA_TTABLE, "a table");
	if (got != 0)
		return got < 0 ? -1 : 0;
	if (read_table(r, where, g) < 0)
		return -1;
	lua_pop(r->L, 1);
	return 0;
}

/* The node's own gate (the node table on top): only a net node has one,
 * and it must say where clients connect. */
int wisp_cfg_read_node_gate(struct reader *r, const char *node,
	struct wisp_config *cfg)
{
	char owner[128], where[160];
	snprintf(owner, sizeof(owner), "nodes.%s", node);
	snprintf(where, sizeof(where), "nodes.%s.gate", node);
	if (!(cfg->roles & WISP_ROLE_NET)) {
		int type = lua_getfield(r->L, -1, "gate");
		lua_pop(r->L, 1);
		return type == LUA_TNIL ? 0 : wisp_cfg_fail(r, "%s has a gate table "
			"but not the net role", owner);
	}
	if (wisp_cfg_read_gate(r, owner, where, &cfg->gate) < 0)
		return -1;
	if (cfg->gate.host == NULL)
		return wisp_cfg_fail(r, "%s has the net role but no gate.listen "
			"(\"host:port\" for clients)", owner);
	const struct wisp_gate_settings *g = &cfg->gate;
	if (g->error_frames && wisp_config_route(g, g->error_command))
		return wisp_cfg_fail(r, "%s: gate.error_command %lu is routed by "
			"gate.commands too, so clients could not tell its replies from "
			"error frames", owner, (unsigned long)g->error_command);
	return 0;
}

const struct wisp_command_route *wisp_config_route(
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
