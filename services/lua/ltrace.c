/* ltrace.c: traces in Lua: wisp.trace(), the current trace id; the
 * slow-call report that wisp.call makes past slow_call_ms; and
 * wisp.admin.trace(ID), what this node recorded of a trace, which the
 * console gathers from every node (console/commands.lua). Ids cross into
 * Lua as 16 hex digits: a Lua integer would show half of them negative. */
#include <inttypes.h>
#include <lauxlib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "handle.h"
#include "host.h"
#include "node.h"
#include "service.h"
#include "trace.h"
#include "value.h"

static void push_id(lua_State *L, uint64_t trace)
{
	char id[17];
	snprintf(id, sizeof(id), "%016" PRIx64, trace);
	lua_pushstring(L, id);
}

/* trace(): the current trace's id, or nil. */
int wisp_lua_trace(lua_State *L)
{
	uint64_t t = wisp_trace();
	if (t == 0)
		return 0;
	push_id(L, t);
	return 1;
}

void wisp_lua_slow_call(lua_State *L, struct task *t, int dest, uint64_t ns)
{
	uint32_t slow_ms = wisp_trace_slow_call_ms();
	uint64_t trace = wisp_trace();
	/* the console's own calls gather reports: never reported */
	if (slow_ms == 0 || ns < slow_ms * 1000000ull || trace == 0
		|| t->host->accepts_spawns)
		return;
	luaL_checkstack(L, 4, NULL);
	int top = lua_gettop(L);
	lua_pushliteral(L, "slow");
	lua_pushvalue(L, dest);
	lua_pushnumber(L, (double)ns / 1e6);
	push_id(L, trace);
	size_t sz;
	void *msg = wisp_value_pack(L, top + 1, top + 4, &sz);
	lua_settop(L, top);
	/* sent outside the trace: gathering its path is not part of it */
	uint64_t was = wisp_trace_swap(0);
	wisp_send_name(t->host->ctx, "console", WISP_MSG_LUA_PACKED, 0, msg, sz);
	wisp_trace_swap(was);
}

/* "2026-12-03 17:19:16.123", as log lines begin, so that the console
 * can merge spans and lines in time order. */
static void push_time(lua_State *L, uint64_t ns)
{
	struct tm tm;
	time_t s = (time_t)(ns / 1000000000ull);
	char when[40];
	localtime_r(&s, &tm);
	size_t n = strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
	snprintf(when + n, sizeof(when) - n, ".%03u",
		(unsigned)(ns / 1000000ull % 1000));
	lua_pushstring(L, when);
}

/* The name a path shows: the service's first name, else its script,
 * else its module; the handle of one that is gone. */
static void push_name(lua_State *L, wisp_handle h)
{
	const struct wisp_context *ctx = wisp_handle_grab(h);
	struct wisp_service_stats s;
	if (ctx && ctx->name_count)
		lua_pushstring(L, ctx->names[0]);
	else if (ctx && wisp_service_stats(h, &s) == 0)
		lua_pushstring(L, s.what ? s.what : s.module);
	else
		lua_pushfstring(L, ":%08x", (unsigned)h);
}

static void push_span(void *ud, const struct wisp_trace_span *s)
{
	lua_State *L = ud;
	lua_createtable(L, 0, 8);
	wisp_lua_set_int(L, "handle", s->handle);
	wisp_lua_set_int(L, "turns", s->turns);
	wisp_lua_set_int(L, "busy_ns", (lua_Integer)s->busy_ns);
	push_name(L, s->handle);
	lua_setfield(L, -2, "name");
	wisp_lua_set_int(L, "start_ns", (lua_Integer)s->start_ns);
	wisp_lua_set_int(L, "ns", (lua_Integer)s->ns);
	push_time(L, s->start_ns);
	lua_setfield(L, -2, "at");
	lua_rawseti(L, -2, (lua_Integer)lua_rawlen(L, -2) + 1);
}

static void push_line(void *ud, const char *line, size_t n)
{
	lua_State *L = ud;
	if (n && line[n - 1] == '\n')
		n--;
	lua_pushlstring(L, line, n);
	lua_rawseti(L, -2, (lua_Integer)lua_rawlen(L, -2) + 1);
}

/* admin.trace(ID): { spans = { {handle, name, turns, start_ns, ns,
 * busy_ns, at}... }, lines = { text... } }, oldest first, of what this
 * node still holds. */
int wisp_lua_admin_trace(lua_State *L)
{
	const char *id = luaL_checkstring(L, 1);
	char *end;
	uint64_t trace = strtoull(id, &end, 16);
	luaL_argcheck(L, *id && strlen(id) <= 16 && *end == '\0' && trace != 0,
		1, "a trace id (16 hex digits) expected");
	lua_createtable(L, 0, 2);
	lua_newtable(L);
	wisp_trace_spans(trace, push_span, L);
	lua_setfield(L, -2, "spans");
	lua_newtable(L);
	wisp_trace_lines(trace, push_line, L);
	lua_setfield(L, -2, "lines");
	return 1;
}
