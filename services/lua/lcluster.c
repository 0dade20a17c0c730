/* lcluster.c: the `wisp` functions about the cluster: claiming a
 * cluster-wide name, the nodes this node knows, and being told when one
 * goes up or down. */
#include <lauxlib.h>
#include <stdio.h>
#include <string.h>
#include "harbor_api.h"
#include "host.h"
#include "names.h"
#include "node.h"

/* register_global(name): claims name at the root; an error if another
 * service holds it. */
static int l_register_global(lua_State *L)
{
	struct task *t = wisp_lua_need_task(L, "wisp.register_global");
	const char *name = luaL_checkstring(L, 1);
	if (!wisp_name_valid(name))
		return luaL_error(L, "cannot register the cluster-wide name '%s': "
			"names are 1 to 63 characters of A-Z a-z 0-9 _ . -", name);
	if (!wisp_harbor_running())
		return luaL_error(L, "cannot register the cluster-wide name '%s': "
			"this node runs no harbor", name);
	char text[96];
	int n = snprintf(text, sizeof(text), "register %s", name);
	struct wisp_context *ctx = t->host->ctx;
	int session = wisp_new_session(ctx);
	wisp_send_name(ctx, "wisp.harbor", WISP_MSG_CLUSTER, session,
		memcpy(wisp_malloc((size_t)n), text, (size_t)n), (size_t)n);
	return wisp_lua_await(L, t, session, t->host->call_timeout_ms,
		AWAIT_REGISTER);
}

/* What the harbor knows of the link to p (nothing on a node without). */
static void push_link(lua_State *L, const struct wisp_peer *p, int self)
{
	struct wisp_harbor_link l;
	uint32_t services, cpu;
	wisp_harbor_link_of(p->id, &l); /* zeroes when there is no link */
	lua_pushboolean(L, self || l.up);
	lua_setfield(L, -2, "up");
	lua_pushboolean(L, l.linked);
	lua_setfield(L, -2, "linked");
	wisp_lua_set_int(L, "bytes_in", (lua_Integer)l.bytes_in);
	wisp_lua_set_int(L, "bytes_out", (lua_Integer)l.bytes_out);
	wisp_lua_set_int(L, "frames_in", (lua_Integer)l.frames_in);
	wisp_lua_set_int(L, "frames_out", (lua_Integer)l.frames_out);
	wisp_lua_set_int(L, "named_out", (lua_Integer)l.named_out);
	/* as the root last said (watchers only) */
	if (wisp_harbor_load(p->id, &services, &cpu) == 0) {
		wisp_lua_set_int(L, "services", services);
		wisp_lua_set_int(L, "cpu", cpu);
	}
}

/* nodes(): { { name, id, roles, up, self, linked, bytes_in, bytes_out,
 * frames_in, frames_out, named_out [, services, cpu] }, ... } for every
 * node of the config. */
static int l_nodes(lua_State *L)
{
	const struct wisp_config *cfg = wisp_node_config();
	lua_newtable(L);
	for (size_t i = 0; cfg && i < cfg->peer_count; i++) {
		const struct wisp_peer *p = &cfg->peers[i];
		int self = p->id == cfg->node_id;
		lua_createtable(L, 0, 13);
		lua_pushstring(L, p->name);
		lua_setfield(L, -2, "name");
		wisp_lua_set_int(L, "id", p->id);
		wisp_lua_set_roles(L, p->roles);
		lua_pushboolean(L, self);
		lua_setfield(L, -2, "self");
		push_link(L, p, self);
		lua_rawseti(L, -2, (lua_Integer)i + 1);
	}
	return 1;
}

/* monitor_nodes(fn): fn(event, name, id) runs, in a task, whenever a node
 * goes "up" or "down". */
static int l_monitor_nodes(lua_State *L)
{
	struct host *host = wisp_lua_task(L)->host;
	luaL_checktype(L, 1, LUA_TFUNCTION);
	if (!wisp_harbor_running())
		return luaL_error(L, "wisp.monitor_nodes: this node runs no harbor");
	lua_rawgeti(L, LUA_REGISTRYINDEX, host->handlers_ref);
	lua_pushvalue(L, 1);
	lua_rawseti(L, -2, WISP_MSG_NODE);
	wisp_harbor_watch_nodes(wisp_self(host->ctx));
	return 0;
}

const luaL_Reg wisp_lua_cluster_funcs[] = {
	{ "register_global", l_register_global }, { "nodes", l_nodes },
	{ "monitor_nodes", l_monitor_nodes }, { NULL, NULL },
};
