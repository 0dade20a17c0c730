/* ladmin.c: `wisp.admin`, what the console service needs to see and steer
 * its node: every service with its counters, the gate's counters, the log
 * level, starting services, system requests (gc, reload) to Lua
 * services, and what its process uses. Only the console should need it. */
#include <lauxlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "gate_api.h"
#include "handle.h"
#include "histogram.h"
#include "host.h"
#include "log.h"
#include "node.h"
#include "process.h"
#include "service.h"

static void set_str(lua_State *L, const char *key, const char *v)
{
	lua_pushstring(L, v);
	lua_setfield(L, -2, key);
}

static void push_names(lua_State *L, const struct wisp_context *ctx)
{
	lua_createtable(L, (int)ctx->name_count, 0);
	for (unsigned i = 0; i < ctx->name_count; i++) {
		lua_pushstring(L, ctx->names[i]);
		lua_rawseti(L, -2, i + 1);
	}
	lua_setfield(L, -2, "names");
	if (ctx->name_count)
		set_str(L, "name", ctx->names[0]);
}

/* A service's table: its address, names and stats; a Lua service's
 * script (what its module says it runs) too. */
static void push_service(lua_State *L, const struct wisp_context *ctx)
{
	char address[16];
	struct wisp_service_stats s;
	wisp_service_stats(ctx->handle, &s);
	snprintf(address, sizeof(address), ":%08x", (unsigned)ctx->handle);
	lua_createtable(L, 0, 10);
	wisp_lua_set_int(L, "handle", ctx->handle);
	set_str(L, "address", address);
	push_names(L, ctx);
	set_str(L, "module", s.module);
	if (s.what) {
		set_str(L, "script", s.what);
		lua_pushboolean(L, wisp_lua_is_runtime(s.what));
		lua_setfield(L, -2, "runtime"); /* a hot update leaves it alone */
	}
	wisp_lua_set_stats(L, &s);
}

/* services(): every live service of this node, oldest first. */
static int l_services(lua_State *L)
{
	size_t n;
	wisp_handle *list = wisp_handle_list(&n);
	lua_createtable(L, (int)n, 0);
	int count = 0;
	for (size_t i = 0; i < n; i++) {
		const struct wisp_context *ctx = wisp_handle_grab(list[i]);
		if (ctx == NULL || ctx->dead)
			continue;
		push_service(L, ctx);
		lua_rawseti(L, -2, ++count);
	}
	wisp_free(list);
	return 1;
}

static void set_counter(void *ud, const char *name, uint64_t value)
{
	wisp_lua_set_int(ud, name, (lua_Integer)value);
}

/* gate(): the counters of this node's gate, or nil. */
static int l_gate(lua_State *L)
{
	lua_createtable(L, 0, 32);
	return wisp_gate_counters(set_counter, L) < 0 ? 0 : 1;
}

/* log_level([name]): the level's name; sets it when given one. */
static int l_log_level(lua_State *L)
{
	if (!lua_isnoneornil(L, 1)) {
		int level = wisp_log_level_parse(luaL_checkstring(L, 1));
		if (level < 0)
			return luaL_error(L, "unknown log level '%s' (debug, info, warn, "
				"error)", lua_tostring(L, 1));
		wisp_log_set_level(level);
	}
	lua_pushstring(L, wisp_log_level_name(wisp_log_level()));
	return 1;
}

/* launch(module, args): a new service; raises with why it could not. */
static int l_launch(lua_State *L)
{
	const char *module = luaL_checkstring(L, 1);
	const char *args = luaL_optstring(L, 2, "");
	char err[512];
	wisp_handle h = wisp_service_start(module, args, err, sizeof(err));
	if (h == 0)
		return luaL_error(L, "cannot start %s: %s", module, err);
	lua_pushinteger(L, h);
	return 1;
}

/* accept_spawns(): this service starts the Lua services other nodes ask
 * for (wisp.newservice_at); the console calls it. Its calls (commands
 * forwarded, traces gathered) are the operator's, not requests to trace. */
static int l_accept_spawns(lua_State *L)
{
	struct host *h = wisp_lua_task(L)->host;
	h->accepts_spawns = 1;
	h->ctx->untraced = 1;
	return 0;
}

/* system(addr, text [, timeout_ms]): a system request ("gc", "reload")
 * to a Lua service; its answer text, or an error raised. */
static int l_system(lua_State *L)
{
	struct task *t = wisp_lua_need_task(L, "wisp.admin.system");
	size_t sz;
	const char *text = luaL_checklstring(L, 2, &sz);
	lua_Integer ms = luaL_optinteger(L, 3, t->host->call_timeout_ms);
	luaL_argcheck(L, ms > 0 && ms <= 86400000, 3, "a timeout in ms expected");
	void *msg = memcpy(wisp_malloc(sz ? sz : 1), text, sz);
	lua_settop(L, 1);
	int session = wisp_new_session(t->host->ctx);
	wisp_lua_send(t->host, L, 1, WISP_MSG_SYSTEM, session, msg, sz);
	return wisp_lua_await(L, t, session, (uint32_t)ms, AWAIT_CALL);
}

/* node(): { name, id, roles, pid, uptime_ms } of this node. */
static int l_node(lua_State *L)
{
	const struct wisp_config *cfg = wisp_node_config();
	lua_createtable(L, 0, 5);
	set_str(L, "name", wisp_node_name());
	wisp_lua_set_int(L, "id", cfg ? cfg->node_id : 0);
	wisp_lua_set_roles(L, cfg ? cfg->roles : 0);
	wisp_lua_set_int(L, "pid", getpid());
	wisp_lua_set_int(L, "uptime_ms", (lua_Integer)wisp_now());
	return 1;
}

static void set_number(lua_State *L, const char *key, double v)
{
	lua_pushnumber(L, v);
	lua_setfield(L, -2, key);
}

/* process(): what the node's process uses: cpu_seconds, resident_bytes,
 * open_fds, max_fds (0: unlimited), start_time (seconds since the epoch),
 * and now (the same clock, for rates). */
static int l_process(lua_State *L)
{
	struct wisp_process_stats s;
	struct timespec ts;
	wisp_process_stats(&s);
	clock_gettime(CLOCK_REALTIME, &ts);
	lua_createtable(L, 0, 6);
	set_number(L, "cpu_seconds", s.cpu_seconds);
	wisp_lua_set_int(L, "resident_bytes", (lua_Integer)s.resident_bytes);
	wisp_lua_set_int(L, "open_fds", (lua_Integer)s.open_fds);
	wisp_lua_set_int(L, "max_fds", (lua_Integer)s.max_fds);
	set_number(L, "start_time", s.start_time);
	set_number(L, "now", (double)ts.tv_sec + (double)ts.tv_nsec / 1e9);
	return 1;
}

static void push_series(lua_State *L, const struct wisp_histogram_series *s)
{
	lua_createtable(L, 0, 4);
	set_str(L, "label", s->label);
	lua_createtable(L, WISP_HISTOGRAM_BUCKETS + 1, 0);
	for (int b = 0; b <= WISP_HISTOGRAM_BUCKETS; b++) {
		lua_pushinteger(L, (lua_Integer)s->buckets[b]);
		lua_rawseti(L, -2, b + 1);
	}
	lua_setfield(L, -2, "buckets");
	set_number(L, "sum", s->sum);
	wisp_lua_set_int(L, "count", (lua_Integer)s->count);
}

/* histograms(): the node's latency histograms (runtime/histogram.h):
 * { name, help, label_name, bounds = { seconds... }, series = { { label,
 * buckets = { each bucket's own count, +Inf last }, sum, count } } }. */
static int l_histograms(lua_State *L)
{
	lua_newtable(L);
	int n = 0;
	for (const struct wisp_histogram *h = wisp_histograms(); h; h = h->next) {
		lua_createtable(L, 0, 5);
		set_str(L, "name", h->name);
		set_str(L, "help", h->help);
		set_str(L, "label_name", h->label_name);
		lua_createtable(L, WISP_HISTOGRAM_BUCKETS, 0);
		for (int b = 0; b < WISP_HISTOGRAM_BUCKETS; b++) {
			lua_pushnumber(L, wisp_histogram_bounds[b]);
			lua_rawseti(L, -2, b + 1);
		}
		lua_setfield(L, -2, "bounds");
		lua_createtable(L, (int)h->count, 0);
		for (size_t i = 0; i < h->count; i++) {
			push_series(L, &h->series[i]);
			lua_rawseti(L, -2, (lua_Integer)i + 1);
		}
		lua_setfield(L, -2, "series");
		lua_rawseti(L, -2, ++n);
	}
	return 1;
}

int wisp_lua_open_admin(lua_State *L)
{
	static const luaL_Reg funcs[] = {
		{ "services", l_services }, { "gate", l_gate },
		{ "log_level", l_log_level }, { "launch", l_launch },
		{ "accept_spawns", l_accept_spawns },
		{ "system", l_system }, { "node", l_node },
		{ "process", l_process }, { "histograms", l_histograms },
		{ "trace", wisp_lua_admin_trace },
		{ NULL, NULL },
	};
	luaL_newlib(L, funcs);
	return 1;
}
