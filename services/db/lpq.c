/* lpq.c: `wisp.pq`, a PostgreSQL connection over libpq's asynchronous
 * API in pipeline mode, for the db service. No call blocks the node's
 * thread: the connection's socket is watched in the node's epoll loop,
 * which reads what arrives (and writes what libpq could not send at
 * once), then tells the owning service with a WISP_MSG_SOCKET message of
 * the event WISP_PQ_READY. The service then takes the finished results
 * with conn:results(), in the order their queries were sent. Rows come
 * as Lua tables typed by column type; NULL columns are left out. */
#include <lauxlib.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include "host.h"
#include "socket.h"
#include "wisp.h"

#define CONN_META "wisp.pq.conn"
#define WISP_PQ_READY 64 /* the socket event a service is told with */
#define PARAMS_MAX 1000
#define NUM_MAX 32       /* a number's text */

/* Type oids (catalog/pg_type_d.h, which is the server's header). */
enum { BOOL_OID = 16, BYTEA_OID = 17, INT8_OID = 20, INT2_OID = 21,
	INT4_OID = 23, OID_OID = 26, FLOAT4_OID = 700, FLOAT8_OID = 701,
	NUMERIC_OID = 1700 };

struct conn {
	PGconn *pg;          /* NULL once closed */
	wisp_handle owner;
	int id;              /* names the connection in its messages */
	int fd, watch;       /* watch -1: not watched */
	uint32_t events;
	int connecting;      /* PQconnectPoll is not done */
	int notified;        /* a READY message is on its way */
	int inflight;        /* queries and syncs sent, not yet taken */
	int script;          /* out of pipeline mode for a script */
	int flush_queued;    /* its flush waits for the end of the round */
	int flush_asked;     /* a flush request goes with that flush */
	PGresult *current;   /* the first result of the query being read */
};

static int next_id = 1;

/* The server's notices ("relation ... already exists, skipping") would go
 * to stderr: they are not the node's to show. */
static void ignore_notice(void *arg, const char *message)
{
	(void)arg;
	(void)message;
}

static void notify(struct conn *c)
{
	if (c->notified)
		return;
	wisp_poll_notify(c->owner, WISP_PQ_READY, c->id);
	c->notified = 1;
}

static void unwatch(struct conn *c)
{
	if (c->watch >= 0)
		wisp_poll_unwatch(c->fd, c->watch);
	c->watch = -1;
}

static void on_ready(void *ud);

/* Watches the connection's socket for events; it may be a new one (a
 * connect that tried another address). */
static void watch(struct conn *c, uint32_t events)
{
	int fd = PQsocket(c->pg);
	if (fd != c->fd || c->watch < 0) {
		unwatch(c);
		c->fd = fd;
		c->events = events;
		if (fd >= 0)
			c->watch = wisp_poll_watch_events(fd, events, on_ready, c);
		return;
	}
	if (events != c->events && wisp_poll_rewatch(fd, c->watch, events) == 0)
		c->events = events;
}

/* Writable is watched only while libpq holds unsent bytes. */
static void flush(struct conn *c)
{
	int rc = PQflush(c->pg);
	watch(c, rc == 1 ? EPOLLIN | EPOLLOUT : EPOLLIN);
	if (rc < 0)
		notify(c);
}

static void connect_step(struct conn *c)
{
	switch (PQconnectPoll(c->pg)) {
	case PGRES_POLLING_READING:
		watch(c, EPOLLIN);
		return;
	case PGRES_POLLING_WRITING:
		watch(c, EPOLLOUT);
		return;
	case PGRES_POLLING_OK:
		c->connecting = 0;
		if (PQsetnonblocking(c->pg, 1) == 0)
			PQenterPipelineMode(c->pg);
		watch(c, EPOLLIN);
		break;
	default:
		c->connecting = 0;
		unwatch(c);
	}
	notify(c);
}

static void on_ready(void *ud)
{
	struct conn *c = ud;
	if (c->connecting) {
		connect_step(c);
		return;
	}
	if (PQconsumeInput(c->pg) == 0 || PQstatus(c->pg) == CONNECTION_BAD) {
		unwatch(c); /* a closed socket stays readable */
		notify(c);
		return;
	}
	flush(c);
	if (!PQisBusy(c->pg))
		notify(c);
}

static struct conn *check_conn(lua_State *L)
{
	struct conn *c = luaL_checkudata(L, 1, CONN_META);
	if (c->pg == NULL)
		luaL_error(L, "postgres: connection closed");
	return c;
}

static void close_conn(struct conn *c)
{
	if (c->flush_queued)
		wisp_poll_flush_cancel(c);
	c->flush_queued = c->flush_asked = 0;
	unwatch(c);
	PQclear(c->current);
	c->current = NULL;
	if (c->pg)
		PQfinish(c->pg);
	c->pg = NULL;
}

/* pq.connect(conninfo): a connection on its way; its READY message says
 * when conn:status() is "ok" or "bad". */
static int l_connect(lua_State *L)
{
	const char *info = luaL_checkstring(L, 1);
	struct conn *c = lua_newuserdatauv(L, sizeof(*c), 0);
	*c = (struct conn){ .id = next_id++, .fd = -1, .watch = -1,
		.connecting = 1 };
	luaL_setmetatable(L, CONN_META);
	c->owner = wisp_self(wisp_lua_task(L)->host->ctx);
	c->pg = PQconnectStart(info);
	if (c->pg == NULL)
		return luaL_error(L, "postgres: out of memory");
	PQsetNoticeProcessor(c->pg, ignore_notice, NULL);
	if (PQstatus(c->pg) == CONNECTION_BAD)
		c->connecting = 0;
	else
		connect_step(c);
	return 1;
}

static int l_id(lua_State *L)
{
	lua_pushinteger(L, ((struct conn *)luaL_checkudata(L, 1, CONN_META))->id);
	return 1;
}

/* "connecting", "ok" or "bad", and libpq's message when bad. The news
 * is taken: the next change sends a READY again. */
static int l_status(lua_State *L)
{
	struct conn *c = luaL_checkudata(L, 1, CONN_META);
	c->notified = 0;
	if (c->pg == NULL || PQstatus(c->pg) == CONNECTION_BAD) {
		lua_pushliteral(L, "bad");
		lua_pushstring(L, c->pg ? PQerrorMessage(c->pg) : "closed");
		return 2;
	}
	lua_pushstring(L, c->connecting ? "connecting" : "ok");
	return 1;
}

static int l_close(lua_State *L)
{
	close_conn(luaL_checkudata(L, 1, CONN_META));
	return 0;
}

/* Parameters */

struct params {
	const char **values;
	int *lengths, *formats;
	char (*nums)[NUM_MAX];
};

/* Numbers and booleans go as text, strings as their bytes (binary: a
 * bytea or text parameter takes them as they are, NULs and all). */
static void param(lua_State *L, struct params *p, int i, int idx)
{
	size_t len;
	p->formats[i] = 0;
	p->lengths[i] = 0;
	switch (lua_type(L, idx)) {
	case LUA_TNIL:
		p->values[i] = NULL;
		return;
	case LUA_TBOOLEAN:
		p->values[i] = lua_toboolean(L, idx) ? "t" : "f";
		return;
	case LUA_TNUMBER:
		if (lua_isinteger(L, idx))
			snprintf(p->nums[i], NUM_MAX, "%lld",
				(long long)lua_tointeger(L, idx));
		else
			snprintf(p->nums[i], NUM_MAX, "%.17g", lua_tonumber(L, idx));
		p->values[i] = p->nums[i];
		return;
	case LUA_TSTRING:
		p->values[i] = lua_tolstring(L, idx, &len);
		if (len > INT32_MAX)
			luaL_error(L, "postgres: parameter %d too long", i + 1);
		p->lengths[i] = (int)len;
		p->formats[i] = 1;
		return;
	default:
		luaL_error(L, "postgres: cannot bind a %s to parameter %d",
			luaL_typename(L, idx), i + 1);
	}
}

#define PARAM_BYTES (sizeof(char *) + 2 * sizeof(int) + NUM_MAX)
#define SCRATCH_PARAMS 16 /* a statement's usual count: no allocation */

/* Memory for a statement's parameters: room for SCRATCH_PARAMS of them
 * on the C stack, the caller's; more in a userdata left on the Lua stack
 * until the call returns. */
struct params_scratch {
	_Alignas(void *) char bytes[SCRATCH_PARAMS * PARAM_BYTES];
};

/* The n parameters from stack index first on. */
static void read_params(lua_State *L, struct params *p, int first, int n,
	struct params_scratch *scratch)
{
	luaL_argcheck(L, n >= 0 && n <= PARAMS_MAX, first - 1,
		"postgres: too many parameters");
	char *mem = n <= SCRATCH_PARAMS ? scratch->bytes
		: lua_newuserdatauv(L, (size_t)n * PARAM_BYTES, 0);
	p->nums = (void *)mem;
	p->values = (const char **)(mem + (size_t)n * NUM_MAX);
	p->lengths = (int *)(p->values + n);
	p->formats = p->lengths + n;
	for (int i = 0; i < n; i++)
		param(L, p, i, first + i);
}

static void flush_later(void *ud)
{
	struct conn *c = ud;
	c->flush_queued = 0;
	if (c->pg == NULL || c->connecting)
		return;
	if (c->flush_asked && PQsendFlushRequest(c->pg) == 0)
		notify(c); /* the connection is failing: results() says why */
	c->flush_asked = 0;
	flush(c);
}

/* What the round's requests queued goes in one write, at its end. */
static void queue_flush(struct conn *c)
{
	if (!c->flush_queued) {
		c->flush_queued = 1;
		wisp_poll_flush_later(flush_later, c);
	}
}

static int sent(lua_State *L, struct conn *c, int ok)
{
	if (!ok) {
		lua_pushnil(L);
		lua_pushstring(L, PQerrorMessage(c->pg));
		return 2;
	}
	c->inflight++;
	queue_flush(c);
	lua_pushboolean(L, 1);
	return 1;
}

static int ready_to_send(lua_State *L, struct conn *c)
{
	/* an aborted pipeline takes more: they are aborted up to the sync */
	if (c->connecting || PQpipelineStatus(c->pg) == PQ_PIPELINE_OFF) {
		lua_pushnil(L);
		lua_pushstring(L, c->connecting ? "still connecting"
			: PQerrorMessage(c->pg));
		return 0;
	}
	return 1;
}

/* conn:send(sql, n, ...): a query with n parameters, queued. true, or
 * nil and why. */
static int l_send(lua_State *L)
{
	struct conn *c = check_conn(L);
	const char *sql = luaL_checkstring(L, 2);
	int n = (int)luaL_checkinteger(L, 3);
	struct params p;
	struct params_scratch scratch;
	read_params(L, &p, 4, n, &scratch);
	if (!ready_to_send(L, c))
		return 2;
	return sent(L, c, PQsendQueryParams(c->pg, sql, n, NULL, p.values,
		p.lengths, p.formats, 0));
}

/* conn:prepare(name, sql): the statement prepared, as a query of its own
 * in the pipeline. */
static int l_prepare(lua_State *L)
{
	struct conn *c = check_conn(L);
	const char *name = luaL_checkstring(L, 2);
	const char *sql = luaL_checkstring(L, 3);
	if (!ready_to_send(L, c))
		return 2;
	return sent(L, c, PQsendPrepare(c->pg, name, sql, 0, NULL));
}

/* conn:send_prepared(name, n, ...) */
static int l_send_prepared(lua_State *L)
{
	struct conn *c = check_conn(L);
	const char *name = luaL_checkstring(L, 2);
	int n = (int)luaL_checkinteger(L, 3);
	struct params p;
	struct params_scratch scratch;
	read_params(L, &p, 4, n, &scratch);
	if (!ready_to_send(L, c))
		return 2;
	return sent(L, c, PQsendQueryPrepared(c->pg, name, n, p.values,
		p.lengths, p.formats, 0));
}

/* conn:flush_request(): asks the server to send what it has answered so
 * far, without ending the pipeline's segment as a sync would; the request
 * is sent at the end of the round, once for all the round's asks. */
static int l_flush_request(lua_State *L)
{
	struct conn *c = check_conn(L);
	if (!ready_to_send(L, c))
		return 2;
	c->flush_asked = 1;
	queue_flush(c);
	lua_pushboolean(L, 1);
	return 1;
}

/* conn:script(sql): statements (a migration's file) in one simple query,
 * which pipeline mode does not allow: only when nothing is in flight.
 * Its result is its first error, or its first statement's. */
static int l_script(lua_State *L)
{
	struct conn *c = check_conn(L);
	const char *sql = luaL_checkstring(L, 2);
	if (!ready_to_send(L, c))
		return 2;
	if (c->inflight > 0 || PQexitPipelineMode(c->pg) == 0) {
		lua_pushnil(L);
		lua_pushliteral(L, "a script needs the connection idle");
		return 2;
	}
	c->script = 1;
	return sent(L, c, PQsendQuery(c->pg, sql));
}

/* conn:sync(): the end of a pipeline segment; an error aborts what
 * follows it up to here. Its result is "sync". */
static int l_sync(lua_State *L)
{
	struct conn *c = check_conn(L);
	if (!ready_to_send(L, c))
		return 2;
	return sent(L, c, PQpipelineSync(c->pg));
}

/* Results */

static int hex(int ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	return (ch | 0x20) - 'a' + 10;
}

/* bytea's text form, "\x" and two hex digits a byte. */
static void push_bytea(lua_State *L, const char *s, size_t len)
{
	if (len < 2 || s[0] != '\\' || s[1] != 'x') {
		lua_pushlstring(L, s, len);
		return;
	}
	luaL_Buffer b;
	size_t n = (len - 2) / 2;
	char *out = luaL_buffinitsize(L, &b, n);
	for (size_t i = 0; i < n; i++)
		out[i] = (char)(hex(s[2 + 2 * i]) << 4 | hex(s[3 + 2 * i]));
	luaL_pushresultsize(&b, n);
}

static void push_value(lua_State *L, const PGresult *r, int row, int col)
{
	const char *s = PQgetvalue(r, row, col);
	size_t len = (size_t)PQgetlength(r, row, col);
	switch (PQftype(r, col)) {
	case INT2_OID: case INT4_OID: case INT8_OID: case OID_OID:
		lua_pushinteger(L, strtoll(s, NULL, 10));
		break;
	case FLOAT4_OID: case FLOAT8_OID: case NUMERIC_OID:
		lua_pushnumber(L, strtod(s, NULL));
		break;
	case BOOL_OID:
		lua_pushboolean(L, s[0] == 't');
		break;
	case BYTEA_OID:
		push_bytea(L, s, len);
		break;
	default:
		lua_pushlstring(L, s, len);
	}
}

/* The rows as an array of tables, with changes = the rows a command
 * touched. */
static void push_rows(lua_State *L, const PGresult *r)
{
	int nrows = PQntuples(r), ncols = PQnfields(r);
	luaL_checkstack(L, ncols + 4, "postgres: too many columns");
	lua_createtable(L, nrows, 2); /* changes, and command */
	int names = lua_gettop(L) + 1;
	for (int i = 0; i < ncols; i++)
		lua_pushstring(L, PQfname(r, i));
	for (int row = 0; row < nrows; row++) {
		lua_createtable(L, 0, ncols);
		for (int col = 0; col < ncols; col++) {
			if (PQgetisnull(r, row, col))
				continue;
			lua_pushvalue(L, names + col);
			push_value(L, r, row, col);
			lua_rawset(L, -3);
		}
		lua_rawseti(L, names - 1, row + 1);
	}
	lua_settop(L, names - 1);
	const char *changes = PQcmdTuples((PGresult *)r);
	lua_pushinteger(L, changes[0] ? strtoll(changes, NULL, 10) : nrows);
	lua_setfield(L, -2, "changes");
	if (PQresultStatus(r) == PGRES_COMMAND_OK) {
		lua_pushstring(L, PQcmdStatus((PGresult *)r));
		lua_setfield(L, -2, "command");
	}
}

static void set_field(lua_State *L, const PGresult *r, int code,
	const char *key)
{
	const char *v = PQresultErrorField(r, code);
	if (v) {
		lua_pushstring(L, v);
		lua_setfield(L, -2, key);
	}
}

/* { error = message, state = SQLSTATE, table, column, constraint,
 * detail } */
static void push_error(lua_State *L, const PGresult *r)
{
	lua_createtable(L, 0, 6);
	const char *msg = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
	lua_pushstring(L, msg ? msg : PQresultErrorMessage(r));
	lua_setfield(L, -2, "error");
	set_field(L, r, PG_DIAG_SQLSTATE, "state");
	set_field(L, r, PG_DIAG_TABLE_NAME, "table");
	set_field(L, r, PG_DIAG_COLUMN_NAME, "column");
	set_field(L, r, PG_DIAG_CONSTRAINT_NAME, "constraint");
	set_field(L, r, PG_DIAG_MESSAGE_DETAIL, "detail");
}

static void push_result(lua_State *L, const PGresult *r)
{
	switch (PQresultStatus(r)) {
	case PGRES_TUPLES_OK:
	case PGRES_COMMAND_OK:
		push_rows(L, r);
		break;
	case PGRES_PIPELINE_ABORTED:
		lua_createtable(L, 0, 2);
		lua_pushliteral(L, "aborted by an earlier error");
		lua_setfield(L, -2, "error");
		lua_pushliteral(L, "aborted");
		lua_setfield(L, -2, "state");
		break;
	default:
		push_error(L, r);
	}
}

static int failed(const PGresult *r)
{
	ExecStatusType st = PQresultStatus(r);
	return st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK;
}

/* A query's first result is kept, unless a later one (a script's) is
 * its first error. */
static void keep_result(struct conn *c, PGresult *r)
{
	if (c->current && (!failed(r) || failed(c->current))) {
		PQclear(r);
		return;
	}
	PQclear(c->current);
	c->current = r;
}

/* Takes one finished item into the array at idx: 1, or 0 when none is
 * finished yet. A query's results end with a NULL; a sync has no NULL. */
static int take_one(lua_State *L, struct conn *c, int idx)
{
	while (c->inflight > 0 && !PQisBusy(c->pg)) {
		PGresult *r = PQgetResult(c->pg);
		if (r && PQresultStatus(r) == PGRES_PIPELINE_SYNC) {
			PQclear(r);
			lua_pushliteral(L, "sync");
		} else if (r) {
			keep_result(c, r);
			continue;
		} else if (c->current) {
			push_result(L, c->current);
			PQclear(c->current);
			c->current = NULL;
		} else {
			continue;
		}
		c->inflight--;
		if (c->script) {
			c->script = 0;
			PQenterPipelineMode(c->pg);
		}
		lua_rawseti(L, idx, (lua_Integer)lua_rawlen(L, idx) + 1);
		return 1;
	}
	return 0;
}

/* conn:results(): the items finished since the last call, in order:
 * rows (a table), an error (a table with error), or "sync". Then, if the
 * connection broke, its message. */
static int l_results(lua_State *L)
{
	struct conn *c = check_conn(L);
	c->notified = 0;
	lua_newtable(L);
	int idx = lua_gettop(L);
	if (!c->connecting && PQconsumeInput(c->pg))
		while (take_one(L, c, idx))
			;
	if (PQstatus(c->pg) == CONNECTION_BAD) {
		unwatch(c);
		lua_pushstring(L, PQerrorMessage(c->pg));
		return 2;
	}
	flush(c);
	return 1;
}

static int l_gc(lua_State *L)
{
	close_conn(luaL_checkudata(L, 1, CONN_META));
	return 0;
}

int wisp_lua_open_pq(lua_State *L)
{
	static const luaL_Reg funcs[] = {
		{ "id", l_id }, { "status", l_status }, { "send", l_send },
		{ "prepare", l_prepare }, { "send_prepared", l_send_prepared },
		{ "sync", l_sync }, { "script", l_script },
		{ "flush_request", l_flush_request }, { "results", l_results },
		{ "close", l_close },
		{ NULL, NULL },
	};
	wisp_lua_new_class(L, CONN_META, funcs, l_gc);
	lua_newtable(L);
	lua_pushcfunction(L, l_connect);
	lua_setfield(L, -2, "connect");
	lua_pushinteger(L, WISP_PQ_READY);
	lua_setfield(L, -2, "READY");
	lua_pushinteger(L, PQlibVersion());
	lua_setfield(L, -2, "version");
	return 1;
}
