/* lplace.c: the `wisp` functions that place services on the nodes of the
 * cluster: starting one on a chosen node (newservice_at), and choosing a
 * node of a role for a key (pick, rendezvous hashing) or by load
 * (pick_least_loaded, from the loads the root passes on: harbor/load.c). */
#include <lauxlib.h>
#include <string.h>
#include "harbor_api.h"
#include "host.h"
#include "node.h"
#include "remote.h"
#include "value.h"

/* Whether p is up as this node knows it: itself always; the others as
 * the directory says, or, in a cluster without roots (no directory),
 * whenever they have a harbor address. */
static int node_up(const struct wisp_peer *p)
{
	return p->id == wisp_node_config()->node_id
		|| wisp_harbor_node_up(p->id);
}

/* Raises as a spawn that failed would, saying why. */
static int cannot_start(lua_State *L, const char *why)
{
	return luaL_error(L, "service %s failed to start on node %s: %s",
		lua_tostring(L, 2), lua_tostring(L, 1), why);
}

/* newservice_at(node, script, ...): newservice on node. Elsewhere, the
 * node's console starts it (WISP_MSG_SPAWN) and the new service answers
 * with its handle once started, within call_timeout. */
static int l_newservice_at(lua_State *L)
{
	const char *node = luaL_checkstring(L, 1);
	const char *script = luaL_checkstring(L, 2);
	const struct wisp_config *cfg = wisp_node_config();
	const struct wisp_peer *p = wisp_config_peer(cfg, node);
	if (p && p->id == cfg->node_id) {
		lua_remove(L, 1);
		return wisp_lua_newservice(L);
	}
	struct task *t = wisp_lua_need_task(L, "wisp.newservice_at");
	if (p == NULL)
		return cannot_start(L, "no such node in the config");
	if (!node_up(p))
		return cannot_start(L, lua_pushfstring(L, "node %s is down", node));
	size_t sz, n = strlen(script) + 1;
	void *args = wisp_value_pack(L, 3, lua_gettop(L), &sz);
	char *msg = wisp_malloc(n + sz);
	memcpy(msg, script, n);
	memcpy(msg + n, args, sz);
	wisp_free(args);
	struct wisp_context *ctx = t->host->ctx;
	int session = wisp_new_session(ctx);
	/* a failure to send comes back as an ERROR answer */
	wisp_remote_send_named(wisp_self(ctx), node, "console", WISP_MSG_SPAWN,
		session, msg, n + sz);
	lua_settop(L, 2);
	return wisp_lua_await(L, t, session, t->host->call_timeout_ms,
		AWAIT_SPAWN_AT);
}

/* The role bit named s, or 0. */
static unsigned role_bit(const char *s)
{
	for (int bit = 0; wisp_role_names[bit]; bit++)
		if (strcmp(wisp_role_names[bit], s) == 0)
			return 1u << bit;
	return 0;
}

/* The up nodes among those that arg idx names: a role's name, or a list
 * of node names. Raises if none is. */
static size_t candidates(lua_State *L, int idx,
	const struct wisp_peer **out)
{
	const struct wisp_config *cfg = wisp_node_config();
	size_t n = 0;
	if (lua_type(L, idx) == LUA_TTABLE) {
		lua_Integer len = luaL_len(L, idx);
		for (lua_Integer i = 1; i <= len && n <= WISP_MAX_NODE; i++) {
			lua_geti(L, idx, i);
			const struct wisp_peer *p = lua_type(L, -1) == LUA_TSTRING
				? wisp_config_peer(cfg, lua_tostring(L, -1)) : NULL;
			lua_pop(L, 1);
			if (p && node_up(p))
				out[n++] = p;
		}
	} else {
		unsigned role = role_bit(luaL_checkstring(L, idx));
		luaL_argcheck(L, role != 0, idx, "a role (root, node, net, db) or a "
			"list of node names expected");
		for (size_t i = 0; i < cfg->peer_count; i++)
			if ((cfg->peers[i].roles & role) && node_up(&cfg->peers[i]))
				out[n++] = &cfg->peers[i];
	}
	if (n == 0 && lua_istable(L, idx))
		luaL_error(L, "no node of the list is up");
	else if (n == 0)
		luaL_error(L, "no node of role '%s' is up", lua_tostring(L, idx));
	return n;
}

static uint64_t fnv1a(const void *data, size_t n, uint64_t h)
{
	const unsigned char *s = data;
	for (size_t i = 0; i < n; i++)
		h = (h ^ s[i]) * 0x100000001b3ull;
	return h;
}

/* splitmix64's finalizer: each bit in moves half the bits out. */
static uint64_t mix(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* key's score on a node: FNV-1a 64 over the key, a 0 byte and the node's
 * name, mixed. The same on every node and every platform. */
static uint64_t score(const char *key, size_t len, const char *node)
{
	uint64_t h = fnv1a(key, len + 1, 0xcbf29ce484222325ull); /* its NUL */
	return mix(fnv1a(node, strlen(node), h));
}

/* pick(role or nodes, key): the up node of the role (or of the list) with
 * the highest score for key (rendezvous hashing): every node that sees
 * the same nodes up picks the same one, and a node that goes away moves
 * only the keys it had. key: a string or a number (as its text). */
static int l_pick(lua_State *L)
{
	const struct wisp_peer *c[WISP_MAX_NODE + 1];
	int t = lua_type(L, 2);
	luaL_argcheck(L, t == LUA_TSTRING || t == LUA_TNUMBER, 2,
		"a key (string or number) expected");
	size_t len, n = candidates(L, 1, c);
	const char *key = luaL_tolstring(L, 2, &len);
	const struct wisp_peer *best = NULL;
	uint64_t best_score = 0;
	for (size_t i = 0; i < n; i++) {
		uint64_t s = score(key, len, c[i]->name);
		if (best == NULL || s > best_score
			|| (s == best_score && c[i]->id < best->id)) {
			best = c[i];
			best_score = s;
		}
	}
	lua_pushstring(L, best->name);
	return 1;
}

/* A node's weight: its services, each counting up to twice as much as
 * its CPU is busy; unknown loads weigh nothing. */
static uint64_t weight(uint32_t node)
{
	uint32_t services, cpu;
	if (wisp_harbor_load(node, &services, &cpu) < 0)
		return 0;
	return (uint64_t)services * (1000 + (cpu > 1000 ? 1000 : cpu));
}

/* pick_least_loaded(role or nodes): the up node that weighs least (ties:
 * the lowest id). Loads come from the root once a second, asked for at
 * the first call (until they come, every node weighs nothing); each pick
 * counts one more service on its node until that node's next report, so
 * that picks between two reports spread. */
static int l_pick_least_loaded(lua_State *L)
{
	const struct wisp_peer *c[WISP_MAX_NODE + 1];
	size_t n = candidates(L, 1, c);
	wisp_harbor_watch_loads();
	const struct wisp_peer *best = NULL;
	uint64_t least = 0;
	for (size_t i = 0; i < n; i++) {
		uint64_t w = weight(c[i]->id);
		if (best == NULL || w < least || (w == least && c[i]->id < best->id)) {
			best = c[i];
			least = w;
		}
	}
	wisp_harbor_count_pick(best->id);
	lua_pushstring(L, best->name);
	return 1;
}

const luaL_Reg wisp_lua_place_funcs[] = {
	{ "newservice_at", l_newservice_at }, { "pick", l_pick },
	{ "pick_least_loaded", l_pick_least_loaded }, { NULL, NULL },
};
