/* lsqlite.c: `wisp.sqlite`, a sqlite3 connection and its prepared
 * statements as Lua userdata, for the db service. Every statement call
 * binds, steps and resets before it returns, so between calls no
 * statement is running and none holds bound values. A connection keeps
 * its live statements on a list, to finalize them when it closes.
 * db:exec_async runs a slow statement (a COMMIT) on the connection's
 * worker thread (sqlite_worker.c); the service is told it is done with a
 * WISP_MSG_SOCKET message of the event WISP_SQLITE_DONE, and meanwhile
 * every other use of the connection or its statements is refused. With
 * the option checkpoint = "caller", sqlite no longer checkpoints inside
 * the COMMIT that fills the WAL (which fsyncs both files): the caller
 * reads db:wal_pages() and runs the checkpoint, on the worker. */
#include <errno.h>
#include <lauxlib.h>
#include <sqlite3.h>
#include <string.h>
#include "host.h"
#include "socket.h"
#include "sqlite_worker.h"
#include "wisp.h"

#define DB_META "wisp.sqlite.db"
#define STMT_META "wisp.sqlite.stmt"
#define WISP_SQLITE_DONE 65 /* the socket event a service is told with */

struct stmt;

struct db {
	sqlite3 *handle;    /* NULL once closed */
	struct stmt *stmts; /* the live statements */
	struct wisp_sqlite_worker *worker; /* made by the first exec_async */
	wisp_handle owner;  /* told when an exec_async is done */
	int id;             /* names the connection in that message */
	int wal_pages;      /* in the WAL after the last commit (checkpoint
	                     * "caller" only) */
};

static int next_id = 1;

/* A statement is linked on its db's list exactly while handle is set. Its
 * userdata holds the db's as a user value, so the db's memory outlives
 * it even when both are collected together. */
struct stmt {
	sqlite3_stmt *handle; /* NULL once finalized */
	struct db *db;
	struct stmt *prev, *next;
};

/* Error codes by name: the extended ones callers tell apart, then the
 * primary ones. */
static const struct code_name {
	int code;
	const char *name;
} code_names[] = {
	{ SQLITE_CONSTRAINT_UNIQUE, "CONSTRAINT_UNIQUE" },
	{ SQLITE_CONSTRAINT_PRIMARYKEY, "CONSTRAINT_PRIMARYKEY" },
	{ SQLITE_CONSTRAINT_FOREIGNKEY, "CONSTRAINT_FOREIGNKEY" },
	{ SQLITE_CONSTRAINT_NOTNULL, "CONSTRAINT_NOTNULL" },
	{ SQLITE_CONSTRAINT_CHECK, "CONSTRAINT_CHECK" },
	{ SQLITE_CONSTRAINT, "CONSTRAINT" }, { SQLITE_BUSY, "BUSY" },
	{ SQLITE_LOCKED, "LOCKED" }, { SQLITE_FULL, "FULL" },
	{ SQLITE_IOERR, "IOERR" }, { SQLITE_ERROR, "ERROR" },
	{ SQLITE_MISMATCH, "MISMATCH" }, { SQLITE_TOOBIG, "TOOBIG" },
	{ SQLITE_READONLY, "READONLY" }, { SQLITE_NOMEM, "NOMEM" },
	{ SQLITE_CORRUPT, "CORRUPT" }, { SQLITE_NOTADB, "NOTADB" },
	{ SQLITE_CANTOPEN, "CANTOPEN" }, { SQLITE_INTERRUPT, "INTERRUPT" },
	{ SQLITE_SCHEMA, "SCHEMA" }, { SQLITE_RANGE, "RANGE" },
	{ SQLITE_MISUSE, "MISUSE" },
};

static void push_code_name(lua_State *L, int code)
{
	size_t n = sizeof(code_names) / sizeof(*code_names);
	for (size_t i = 0; i < n; i++)
		if (code_names[i].code == code) {
			lua_pushstring(L, code_names[i].name);
			return;
		}
	for (size_t i = 0; i < n; i++)
		if (code_names[i].code == (code & 0xff)) {
			lua_pushstring(L, code_names[i].name);
			return;
		}
	lua_pushfstring(L, "ERROR_%d", code);
}

/* Back to the start with no values bound. Returns what sqlite3_reset
 * does: the error of the last step, if it failed. */
static int settle(sqlite3_stmt *s)
{
	int rc = sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return rc;
}

/* A failed call: settles s (reset keeps the error on the connection) and
 * returns nil, message, code name. */
static int fail(lua_State *L, sqlite3_stmt *s)
{
	sqlite3 *db = sqlite3_db_handle(s);
	settle(s);
	lua_pushnil(L);
	lua_pushstring(L, sqlite3_errmsg(db));
	push_code_name(L, sqlite3_extended_errcode(db));
	return 3;
}

/* Connections */

/* The node's thread must not touch a connection its worker is using. */
static void check_idle(lua_State *L, const struct db *d)
{
	if (d->worker && wisp_sqlite_worker_running(d->worker))
		luaL_error(L, "sqlite: the connection is busy with a statement on "
			"its worker thread (wait for its done)");
}

static struct db *check_db(lua_State *L)
{
	struct db *d = luaL_checkudata(L, 1, DB_META);
	if (d->handle == NULL)
		luaL_error(L, "sqlite: database is closed");
	check_idle(L, d);
	return d;
}

/* A job still running is waited for: the connection is the worker's
 * until it ends. */
static void close_db(struct db *d)
{
	if (d->worker)
		wisp_sqlite_worker_stop(d->worker);
	d->worker = NULL;
	for (struct stmt *st = d->stmts; st; st = st->next) {
		sqlite3_finalize(st->handle);
		st->handle = NULL;
	}
	d->stmts = NULL;
	sqlite3_close_v2(d->handle);
	d->handle = NULL;
}

/* A statement left running means a Lua error (out of memory) cut a call
 * short: settle them all, so that a COMMIT is not refused for it. */
static void settle_interrupted(struct db *d)
{
	for (struct stmt *st = d->stmts; st; st = st->next)
		if (sqlite3_stmt_busy(st->handle))
			settle(st->handle);
}

struct options {
	int wal, readonly;
	const char *synchronous; /* the pragma that sets it */
	lua_Integer busy_timeout;
	int caller_checkpoints;  /* checkpoint = "caller" */
};

static int opt_bool(lua_State *L, const char *key, int dflt)
{
	int v = lua_getfield(L, 2, key) == LUA_TNIL ? dflt : lua_toboolean(L, -1);
	lua_pop(L, 1);
	return v;
}

static const char *opt_synchronous(lua_State *L)
{
	static const char *const modes[] = { "normal", "full", "off" };
	static const char *const pragmas[] = { "PRAGMA synchronous=NORMAL",
		"PRAGMA synchronous=FULL", "PRAGMA synchronous=OFF" };
	const char *mode = "normal";
	if (lua_getfield(L, 2, "synchronous") != LUA_TNIL)
		mode = lua_tostring(L, -1);
	for (int i = 0; mode && i < 3; i++)
		if (strcmp(mode, modes[i]) == 0) {
			lua_pop(L, 1);
			return pragmas[i];
		}
	luaL_error(L, "sqlite: synchronous must be \"normal\", \"full\" or \"off\"");
	return NULL;
}

static lua_Integer opt_busy_timeout(lua_State *L)
{
	int isnum = 1;
	lua_Integer ms = 5000;
	if (lua_getfield(L, 2, "busy_timeout") != LUA_TNIL)
		ms = lua_tointegerx(L, -1, &isnum);
	if (!isnum || ms < 0 || ms > INT32_MAX)
		luaL_error(L, "sqlite: busy_timeout must be a number of ms");
	lua_pop(L, 1);
	return ms;
}

static void read_options(lua_State *L, struct options *o)
{
	*o = (struct options){ 1, 0, "PRAGMA synchronous=NORMAL", 5000, 0 };
	if (lua_isnoneornil(L, 2))
		return;
	luaL_checktype(L, 2, LUA_TTABLE);
	o->wal = opt_bool(L, "wal", 1);
	o->readonly = opt_bool(L, "readonly", 0);
	o->synchronous = opt_synchronous(L);
	o->busy_timeout = opt_busy_timeout(L);
	if (lua_getfield(L, 2, "checkpoint") != LUA_TNIL) {
		const char *mode = lua_tostring(L, -1);
		if (mode == NULL || (strcmp(mode, "caller") != 0
				&& strcmp(mode, "auto") != 0))
			luaL_error(L, "sqlite: checkpoint must be \"auto\" or "
				"\"caller\"");
		o->caller_checkpoints = strcmp(mode, "caller") == 0;
	}
	lua_pop(L, 1);
}

/* Replaces sqlite's own checkpointing (sqlite3_wal_autocheckpoint's
 * hook): only the WAL's size is kept, for the caller. */
static int on_wal_commit(void *ud, sqlite3 *db, const char *schema,
	int pages)
{
	(void)db;
	(void)schema;
	((struct db *)ud)->wal_pages = pages;
	return SQLITE_OK;
}

/* The settings of a new connection. The busy timeout comes first, so that
 * switching to WAL waits for another connection's lock. A read-only
 * connection cannot change the journal mode: WAL or not is the file's. */
static int configure(sqlite3 *db, const struct options *o)
{
	int rc = sqlite3_busy_timeout(db, (int)o->busy_timeout);
	if (rc == SQLITE_OK && o->wal && !o->readonly)
		rc = sqlite3_exec(db, "PRAGMA journal_mode=WAL", NULL, NULL, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db, o->synchronous, NULL, NULL, NULL);
	return rc;
}

/* The connection is used by one thread at a time, the node's or its
 * worker's, so it needs no mutex of its own (SQLITE_OPEN_NOMUTEX). */
static int l_open(lua_State *L)
{
	const char *path = luaL_checkstring(L, 1);
	struct options o;
	read_options(L, &o);
	struct db *d = lua_newuserdatauv(L, sizeof(*d), 0);
	*d = (struct db){ NULL, NULL, NULL, 0, next_id++, 0 };
	luaL_setmetatable(L, DB_META);
	int flags = SQLITE_OPEN_NOMUTEX | (o.readonly ? SQLITE_OPEN_READONLY
		: SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
	int rc = sqlite3_open_v2(path, &d->handle, flags, NULL);
	if (rc == SQLITE_OK)
		rc = configure(d->handle, &o);
	if (rc != SQLITE_OK) {
		lua_pushfstring(L, "sqlite: cannot open %s: %s", path,
			d->handle ? sqlite3_errmsg(d->handle) : sqlite3_errstr(rc));
		close_db(d);
		return lua_error(L);
	}
	if (o.caller_checkpoints)
		sqlite3_wal_hook(d->handle, on_wal_commit, d);
	return 1;
}

/* Pages in the WAL after the last commit (checkpoint "caller"). */
static int l_wal_pages(lua_State *L)
{
	lua_pushinteger(L, check_db(L)->wal_pages);
	return 1;
}

static int l_exec(lua_State *L)
{
	struct db *d = check_db(L);
	const char *sql = luaL_checkstring(L, 2);
	settle_interrupted(d);
	char *err = NULL;
	if (sqlite3_exec(d->handle, sql, NULL, NULL, &err) != SQLITE_OK) {
		lua_pushfstring(L, "sqlite: %s",
			err ? err : sqlite3_errmsg(d->handle));
		sqlite3_free(err);
		return lua_error(L);
	}
	return 0;
}

/* Whether more than whitespace and comments follows the first statement:
 * prepare would ignore it silently. */
static int has_more(sqlite3 *db, const char *tail)
{
	tail += strspn(tail, " \t\r\n;");
	if (*tail == '\0')
		return 0;
	sqlite3_stmt *next = NULL;
	int rc = sqlite3_prepare_v2(db, tail, -1, &next, NULL);
	sqlite3_finalize(next);
	return rc != SQLITE_OK || next != NULL;
}

static void link_stmt(struct db *d, struct stmt *st)
{
	st->prev = NULL;
	st->next = d->stmts;
	if (d->stmts)
		d->stmts->prev = st;
	d->stmts = st;
}

static void unlink_stmt(struct stmt *st)
{
	if (st->prev)
		st->prev->next = st->next;
	else
		st->db->stmts = st->next;
	if (st->next)
		st->next->prev = st->prev;
}

/* The statement is prepared once its userdata exists, so that no Lua
 * error can leak it. */
static int l_prepare(lua_State *L)
{
	struct db *d = check_db(L);
	size_t len;
	const char *sql = luaL_checklstring(L, 2, &len);
	luaL_argcheck(L, len < INT32_MAX, 2, "statement too long");
	struct stmt *st = lua_newuserdatauv(L, sizeof(*st), 1);
	*st = (struct stmt){ NULL, d, NULL, NULL };
	luaL_setmetatable(L, STMT_META);
	lua_pushvalue(L, 1);
	lua_setiuservalue(L, -2, 1);
	const char *tail = NULL;
	/* len + 1: sqlite need not copy a string it knows is terminated */
	int rc = sqlite3_prepare_v3(d->handle, sql, (int)len + 1,
		SQLITE_PREPARE_PERSISTENT, &st->handle, &tail);
	if (rc != SQLITE_OK)
		return luaL_error(L, "sqlite: %s (in: %s)",
			sqlite3_errmsg(d->handle), sql);
	if (st->handle == NULL)
		return luaL_error(L, "sqlite: no statement (in: %s)", sql);
	link_stmt(d, st);
	if (has_more(d->handle, tail))
		return luaL_error(L, "sqlite: more than one statement (in: %s)",
			sql);
	return 1;
}

static void on_worker_done(void *ud)
{
	struct db *d = ud;
	wisp_poll_notify(d->owner, WISP_SQLITE_DONE, d->id);
}

/* db:exec_async(sql): sql starts on the worker thread; the calling
 * service gets the done event with the connection's id (returned). */
static int l_exec_async(lua_State *L)
{
	struct db *d = check_db(L);
	const char *sql = luaL_checkstring(L, 2);
	settle_interrupted(d);
	if (d->worker == NULL) {
		d->worker = wisp_sqlite_worker_start(d->handle, on_worker_done, d);
		if (d->worker == NULL)
			return luaL_error(L, "sqlite: cannot start a worker thread: %s",
				strerror(errno));
	}
	d->owner = wisp_self(wisp_lua_task(L)->host->ctx);
	if (wisp_sqlite_worker_run(d->worker, sql) < 0)
		return luaL_error(L, "sqlite: statement too long for the worker");
	lua_pushinteger(L, d->id);
	return 1;
}

/* Whether an exec_async is running. */
static int l_busy(lua_State *L)
{
	struct db *d = luaL_checkudata(L, 1, DB_META);
	lua_pushboolean(L, d->worker && wisp_sqlite_worker_running(d->worker));
	return 1;
}

/* The last exec_async's result, once done: true, or nil, message, code. */
static int l_exec_result(lua_State *L)
{
	struct db *d = check_db(L);
	if (d->worker == NULL)
		return luaL_error(L, "sqlite: no exec_async was run");
	const char *message;
	int rc = wisp_sqlite_worker_result(d->worker, &message);
	if (rc == SQLITE_OK) {
		lua_pushboolean(L, 1);
		return 1;
	}
	lua_pushnil(L);
	lua_pushfstring(L, "sqlite: %s", message);
	push_code_name(L, rc);
	return 3;
}

static int l_changes(lua_State *L)
{
	lua_pushinteger(L, sqlite3_changes64(check_db(L)->handle));
	return 1;
}

static int l_last_insert_rowid(lua_State *L)
{
	lua_pushinteger(L, sqlite3_last_insert_rowid(check_db(L)->handle));
	return 1;
}

static int l_close(lua_State *L)
{
	close_db(luaL_checkudata(L, 1, DB_META));
	return 0;
}

/* Statements */

static int l_stmt_gc(lua_State *L)
{
	struct stmt *st = luaL_checkudata(L, 1, STMT_META);
	if (st->handle) {
		sqlite3_finalize(st->handle);
		unlink_stmt(st);
		st->handle = NULL;
	}
	return 0;
}

static sqlite3_stmt *check_stmt(lua_State *L)
{
	struct stmt *st = luaL_checkudata(L, 1, STMT_META);
	if (st->handle == NULL)
		luaL_error(L, "sqlite: database is closed");
	check_idle(L, st->db);
	if (sqlite3_stmt_busy(st->handle))
		settle(st->handle);
	return st->handle;
}

/* Binds argument idx to parameter i. Strings are bound without a copy
 * (SQLITE_STATIC): they stay on the stack until the call settles s. nil
 * binds nothing: the parameters are all NULL after a settle. */
static int bind_one(lua_State *L, sqlite3_stmt *s, int i, int idx)
{
	size_t len;
	const char *p;
	switch (lua_type(L, idx)) {
	case LUA_TNIL:
		return SQLITE_OK;
	case LUA_TBOOLEAN:
		return sqlite3_bind_int(s, i, lua_toboolean(L, idx));
	case LUA_TNUMBER:
		if (lua_isinteger(L, idx))
			return sqlite3_bind_int64(s, i, lua_tointeger(L, idx));
		return sqlite3_bind_double(s, i, lua_tonumber(L, idx));
	case LUA_TSTRING:
		p = lua_tolstring(L, idx, &len);
		return sqlite3_bind_text64(s, i, p, len, SQLITE_STATIC,
			SQLITE_UTF8);
	default:
		settle(s);
		return luaL_error(L, "sqlite: cannot bind a %s to parameter %d",
			luaL_typename(L, idx), i);
	}
}

/* Binds the n arguments after the statement, in order. */
static int bind_args(lua_State *L, sqlite3_stmt *s, int n)
{
	int params = sqlite3_bind_parameter_count(s);
	if (n > params)
		luaL_error(L, "sqlite: %d arguments for %d parameters", n, params);
	for (int i = 1; i <= n; i++) {
		int rc = bind_one(L, s, i, i + 1);
		if (rc != SQLITE_OK)
			return rc;
	}
	return SQLITE_OK;
}

static int l_run(lua_State *L)
{
	sqlite3_stmt *s = check_stmt(L);
	int rc = bind_args(L, s, lua_gettop(L) - 1);
	if (rc == SQLITE_OK)
		while ((rc = sqlite3_step(s)) == SQLITE_ROW)
			;
	if (rc != SQLITE_DONE)
		return fail(L, s);
	settle(s);
	sqlite3 *db = sqlite3_db_handle(s);
	lua_pushinteger(L, sqlite3_changes64(db));
	lua_pushinteger(L, sqlite3_last_insert_rowid(db));
	return 2;
}

/* Pushes the column names, to key the rows with without interning them
 * again for each row. Returns the index of the first. */
static int push_names(lua_State *L, sqlite3_stmt *s, int n)
{
	luaL_checkstack(L, n + 4, "sqlite: too many columns");
	int first = lua_gettop(L) + 1;
	for (int i = 0; i < n; i++) {
		const char *name = sqlite3_column_name(s, i);
		if (name == NULL)
			luaL_error(L, "sqlite: out of memory");
		lua_pushstring(L, name);
	}
	return first;
}

static void push_value(lua_State *L, sqlite3_stmt *s, int i, int type)
{
	const void *p;
	switch (type) {
	case SQLITE_INTEGER:
		lua_pushinteger(L, sqlite3_column_int64(s, i));
		break;
	case SQLITE_FLOAT:
		lua_pushnumber(L, sqlite3_column_double(s, i));
		break;
	default: /* text or blob, by their bytes: NULs and all */
		p = type == SQLITE_TEXT ? (const void *)sqlite3_column_text(s, i)
			: sqlite3_column_blob(s, i);
		lua_pushlstring(L, p, (size_t)sqlite3_column_bytes(s, i));
	}
}

/* The current row as a table; NULL columns are left out. */
static void push_row(lua_State *L, sqlite3_stmt *s, int names, int n)
{
	lua_createtable(L, 0, n);
	for (int i = 0; i < n; i++) {
		int type = sqlite3_column_type(s, i);
		if (type == SQLITE_NULL)
			continue;
		lua_pushvalue(L, names + i);
		push_value(L, s, i, type);
		lua_rawset(L, -3);
	}
}

/* Anything that may raise comes before the binding or once stepped: a
 * statement found running is settled by the next call, but one merely
 * bound would keep pointers to strings gone from the stack. */
static int l_rows(lua_State *L)
{
	sqlite3_stmt *s = check_stmt(L);
	int nargs = lua_gettop(L) - 1;
	lua_newtable(L);
	int result = lua_gettop(L), names = 0, n = 0;
	int rc = bind_args(L, s, nargs);
	lua_Integer count = 0;
	if (rc == SQLITE_OK)
		while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
			if (count == 0) {
				/* known for sure only once stepped */
				n = sqlite3_column_count(s);
				names = push_names(L, s, n);
			}
			push_row(L, s, names, n);
			lua_rawseti(L, result, ++count);
		}
	if (rc != SQLITE_DONE)
		return fail(L, s);
	settle(s);
	lua_settop(L, result);
	return 1;
}

/* The row is built before the reset that ends the statement, which may
 * still fail (a write with RETURNING commits then). */
static int l_first(lua_State *L)
{
	sqlite3_stmt *s = check_stmt(L);
	int rc = bind_args(L, s, lua_gettop(L) - 1);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	if (rc == SQLITE_DONE) {
		settle(s);
		lua_pushnil(L);
		return 1;
	}
	if (rc != SQLITE_ROW)
		return fail(L, s);
	int n = sqlite3_column_count(s);
	push_row(L, s, push_names(L, s, n), n);
	if (settle(s) != SQLITE_OK)
		return fail(L, s);
	return 1;
}

static int l_columns(lua_State *L)
{
	sqlite3_stmt *s = check_stmt(L);
	int n = sqlite3_column_count(s);
	lua_createtable(L, n, 0);
	for (int i = 0; i < n; i++) {
		const char *name = sqlite3_column_name(s, i);
		if (name == NULL)
			return luaL_error(L, "sqlite: out of memory");
		lua_pushstring(L, name);
		lua_rawseti(L, -2, i + 1);
	}
	return 1;
}

/* A connection is used by one thread at a time (the node's, or its
 * worker's for a COMMIT), while other connections may be used by the
 * other: sqlite's shared state needs its core mutexes, connections none
 * (SQLITE_CONFIG_MULTITHREAD). No global memory statistics, which take a
 * mutex on every allocation. Must come before sqlite's first use; later
 * calls fail harmlessly. */
static void configure_library(void)
{
	static int done;
	if (done)
		return;
	done = 1;
	sqlite3_config(SQLITE_CONFIG_MULTITHREAD);
	sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

int wisp_lua_open_sqlite(lua_State *L)
{
	configure_library();
	static const luaL_Reg db_funcs[] = {
		{ "exec", l_exec }, { "prepare", l_prepare },
		{ "changes", l_changes },
		{ "last_insert_rowid", l_last_insert_rowid },
		{ "exec_async", l_exec_async }, { "exec_result", l_exec_result },
		{ "busy", l_busy }, { "wal_pages", l_wal_pages },
		{ "close", l_close }, { NULL, NULL },
	};
	static const luaL_Reg stmt_funcs[] = {
		{ "run", l_run }, { "rows", l_rows }, { "first", l_first },
		{ "columns", l_columns }, { NULL, NULL },
	};
	wisp_lua_new_class(L, DB_META, db_funcs, l_close);
	wisp_lua_new_class(L, STMT_META, stmt_funcs, l_stmt_gc);
	lua_newtable(L);
	lua_pushcfunction(L, l_open);
	lua_setfield(L, -2, "open");
	lua_pushstring(L, sqlite3_libversion());
	lua_setfield(L, -2, "version");
	lua_pushinteger(L, WISP_SQLITE_DONE);
	lua_setfield(L, -2, "DONE");
	return 1;
}
