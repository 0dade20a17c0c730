/* host.h: the Lua host service: one lua_State per service, and tasks
 * (coroutines) that run its handlers so that a handler can wait for a
 * call, a timer or a wakeup without blocking the node. */
#ifndef WISP_LUA_HOST_H
#define WISP_LUA_HOST_H

#include <lauxlib.h>
#include <lua.h>
#include <stddef.h>
#include <stdint.h>
#include "keymap.h"
#include "wisp.h"

/* What a suspended task waits for. */
enum task_wait {
	WAIT_NONE,
	WAIT_CALL,    /* a RESPONSE or ERROR with wait_session, or its timer */
	WAIT_SLEEP,   /* a TIMER with wait_session */
	WAIT_TIMEOUT, /* not started yet: runs when the TIMER comes */
	WAIT_WAKEUP,  /* wisp.wakeup */
	WAIT_FOREVER, /* the service exited; never resumed */
};

/* An answer owed to a caller: linked into the host's list until it is
 * sent, so that a service that goes away can still answer every caller. */
struct owed {
	struct owed *prev, *next;
	wisp_handle to;
	int session;
};

/* A task is a coroutine with the message it serves. It lives in Lua
 * memory (a userdata anchored in the registry), so lua_close frees it. */
struct task {
	lua_State *co;
	int ref;              /* registry ref of this userdata */
	struct host *host;
	struct task *next;    /* on the free list or the ready list */
	wisp_handle source;   /* who sent the message served */
	int session;          /* its session, 0 if no reply is wanted */
	struct owed answer;   /* linked while the answer is owed */
	uint8_t boot;         /* runs the script's main chunk and start */
	uint8_t wait;         /* enum task_wait */
	int wait_session;
	uint64_t deadline_ms; /* when its call times out (wisp_now), 0: never */
	uint32_t timeout_ms;
	uint32_t call_slot;   /* its index in the host's heap of timed calls */
	uint64_t call_ticks;  /* when its wisp.call was made (wisp_ticks),
	                       * 0 while it makes none */
	int nargs;            /* values to resume a ready task with */
	uint64_t origin;      /* the trace of the message it serves, 0: none */
	uint64_t trace;       /* the trace it runs in: origin, or the one its
	                       * call started, while it waits for the answer */
};

/* Messages that came before the service had started. */
struct deferred {
	struct deferred *next;
	int type, session;
	wisp_handle source;
	void *data;
	size_t size;
	uint64_t trace;       /* its trace: its handler runs in it */
};

struct host {
	struct wisp_context *ctx;
	lua_State *L;
	struct task main_task; /* stands for the main thread: serves nothing */
	struct task *current;  /* the task running now */
	struct task *free_tasks;
	int free_count;
	struct task *ready_head, *ready_tail;
	struct wisp_keymap waits; /* session -> the task waiting for it */
	int handlers_ref;      /* registry: message type -> function */
	int lua_handler_ref;   /* the "lua" one again, for the common case */
	int start_ref;         /* the function given to wisp.start */
	int started;
	int idle_pending;      /* wisp.when_idle has functions waiting */
	int reloading;         /* a hot update runs the main chunk again */
	int essential;         /* named by the config: the node needs it */
	int accepts_spawns;    /* the console: starts what other nodes ask for
	                        * (WISP_MSG_SPAWN, wisp.newservice_at) */
	struct deferred *deferred, **deferred_tail;
	uint32_t deferred_count; /* held to the mailbox's limits */
	size_t deferred_bytes;
	struct owed owed;      /* the list of owed answers */
	size_t mem, mem_limit;
	uint64_t errors;       /* handlers that raised (the metrics' count) */
	int enforce_limit;     /* only user code is held to the limit */
	uint32_t budget_ms;
	uint32_t call_timeout_ms;
	/* tasks waiting for a call that can time out: a min-heap by deadline */
	struct timed_call *calls;
	uint32_t ncalls, calls_cap;
	int sweep_session;     /* the armed sweep's timer, 0 if none */
	uint64_t sweep_ms;     /* when it is due */
	void **panic_exit;     /* where a Lua panic returns (wisp_lua_guard):
	                        * a __builtin_setjmp buffer */
	int panicked;          /* its state broke: it never runs Lua again */
	char script[64];
};

/* Pushes a table whose functions, found in lists (NULL-terminated), are
 * put in it when first looked up (pairs sees only those). */
void wisp_lua_lazy_table(lua_State *L, const luaL_Reg *const *lists);

/* Registers the metatable name for a userdata class: methods as its
 * __index (kept apart from the metatable, so that __gc is not one of
 * them) and gc as its __gc. */
void wisp_lua_new_class(lua_State *L, const char *name,
	const luaL_Reg *methods, lua_CFunction gc);
/* t[key] = v for the table on top. */
void wisp_lua_set_int(lua_State *L, const char *key, lua_Integer v);
/* t.roles = the names of roles (WISP_ROLE_* bits), for the table on top. */
void wisp_lua_set_roles(lua_State *L, unsigned roles);

/* The host of any thread of a service's state. */
struct task *wisp_lua_task(lua_State *L);
/* Runs fn(h, arg), whose Lua calls are not all protected: a Lua panic in
 * it (an error outside any pcall) stops the node in order and returns
 * here with -1, where Lua alone would abort the process; else 0. */
int wisp_lua_guard(struct host *h, void (*fn)(struct host *h, void *arg),
	void *arg);
/* lflow.c: "chunk:line" of the first Lua function at level or above
 * (C functions have no line), or "?": a place, for the log's flood
 * control. */
void wisp_lua_where(lua_State *L, int level, char *buf, size_t sz);

/* watchdog.c: a handler of co runs from begin to end, for at most ms. */
void wisp_watchdog_begin(lua_State *co, uint32_t ms);
void wisp_watchdog_end(lua_State *co);

/* task.c */
void wisp_owed_add(struct host *h, struct owed *o, wisp_handle to,
	int session);
int wisp_owed_pending(const struct owed *o);
void wisp_owed_settle(struct owed *o);
/* Answers every owed answer with an error: the service is going away. */
void wisp_owed_fail_all(struct host *h);
struct task *wisp_task_new(struct host *h);
/* Back to the pool (or to the GC) once its work is done. */
void wisp_task_recycle(struct host *h, struct task *t);
void wisp_task_run(struct host *h, struct task *t, int nargs);
void wisp_task_ready(struct host *h, struct task *t, int nargs);
void wisp_task_wait(struct host *h, int session, struct task *t);
struct task *wisp_task_waiting(struct host *h, int session);
/* Answers (to, session) with L[from..to]; ok 0 sends the error text at
 * from instead. Safe outside a coroutine: a value that cannot be packed
 * turns the answer into an error. */
void wisp_task_reply(struct host *h, wisp_handle to, int session, int ok,
	lua_State *L, int from, int to_index);
/* The same for code running in a task: a value that cannot be packed
 * raises a Lua error there, and nothing is sent. */
void wisp_task_answer(struct host *h, wisp_handle to, int session,
	lua_State *L, int from, int to_index);

/* calls.c: call timeouts, kept by deadline, one timer per service armed
 * for the first */
void wisp_calls_add(struct host *h, struct task *t, uint32_t ms);
/* Takes t's call out (it was answered); a no-op if it has none. */
void wisp_calls_remove(struct host *h, struct task *t);
/* If session is the sweep's timer, times out calls past their deadline
 * (a bounded batch: the timer comes again at once for the rest) and
 * returns 1; else 0. */
int wisp_calls_sweep(struct host *h, int session);
void wisp_calls_free(struct host *h);
/* A call answered (or failed) ticks (wisp_ticks) after it was made:
 * observed in the node's wisp_call_seconds histogram under the service
 * called, as the caller named it (a handle: the service's name when it
 * is local and named, else "handle@NODE"). dest is the address's index
 * on L. */
void wisp_calls_observe(lua_State *L, int dest, uint64_t ticks);

/* dispatch.c */
int wisp_lua_dispatch(struct wisp_context *ctx, void *ud, int type,
	int session, wisp_handle source, void *msg, size_t sz);
void wisp_lua_drop_deferred(struct host *h);

/* lsocket.c: the `wisp.socket.core` Lua module */
int wisp_lua_open_socket(lua_State *L);

/* services/db/lsqlite.c and lmemcached.c: the `wisp.sqlite` and
 * `wisp.memcached` Lua modules, which the db service is built on */
int wisp_lua_open_sqlite(lua_State *L);
int wisp_lua_open_memcached(lua_State *L);
/* services/db/lpq.c: `wisp.pq`, PostgreSQL through libpq, asynchronous */
int wisp_lua_open_pq(lua_State *L);
/* services/db/lsettings.c: `wisp.db.settings`, the config's db table */
int wisp_lua_open_db_settings(lua_State *L);
/* services/db/lfiles.c: `wisp.db.files`, directory listing */
int wisp_lua_open_db_files(lua_State *L);

/* ladmin.c: `wisp.admin`, for the console */
int wisp_lua_open_admin(lua_State *L);

/* lcluster.c: the cluster part of the `wisp` module */
extern const luaL_Reg wisp_lua_cluster_funcs[];
/* lplace.c: newservice_at, pick and pick_least_loaded */
extern const luaL_Reg wisp_lua_place_funcs[];

/* host.c: starts script name as a new service, which answers (parent,
 * session) with its handle once its start is done, wherever parent is.
 * args (packed) are its own. 0 with err when it cannot start. */
wisp_handle wisp_lua_spawn(wisp_handle parent, const char *name, void *args,
	size_t sz, int session, char *err, size_t errsz);

/* host.c: scripts and modules, compiled once per node */
int wisp_lua_load_script(lua_State *L, const char *name, char *err,
	size_t errsz);
/* Compiles name's file again, keeping the code it replaces until
 * wisp_lua_settle_code: 0, or -1 with err (the code is unchanged). */
int wisp_lua_recompile(lua_State *L, const char *name, char *err,
	size_t errsz);
/* Keeps the new code (keep_new) or puts the old one back. */
void wisp_lua_settle_code(const char *name, int keep_new);

/* reload.c: system requests (gc, hot update) and wisp.keep */
extern const luaL_Reg wisp_lua_reload_funcs[];
/* Whether a script or module is the runtime's own (wisp.*, db.*,
 * console.*), which a hot update leaves alone. */
int wisp_lua_is_runtime(const char *name);
/* Records that require loaded name from a file (a hot update reloads it);
 * leaves the stack as it was. */
void wisp_lua_note_module(lua_State *L, const char *name);
void wisp_lua_system(struct host *h, wisp_handle source, int session,
	const void *msg, size_t sz);

/* lflow.c: runs what wisp.when_idle queued */
void wisp_lua_run_idle(struct host *h);
struct wisp_service_stats;
/* lflow.c: the Lua module's stats hook (module.h), and the fields of a
 * service's stats (handled, mailbox, refused, cpu_ms, memory) set in the
 * table on top, for wisp.stats and wisp.admin.services alike. */
void wisp_lua_stats(void *inst, struct wisp_service_stats *s);
void wisp_lua_set_stats(lua_State *L, const struct wisp_service_stats *s);

/* lgate.c: client commands and frames to clients */
extern const luaL_Reg wisp_lua_gate_funcs[];
/* Runs the handler of a WISP_MSG_CLIENT message from a gate; a FRAME
 * with a session is answered when its handler is done. */
void wisp_lua_on_client(struct host *h, wisp_handle source, int session,
	const void *msg, size_t sz);
struct wisp_gate_event;
/* Runs the handler of event e from gate, decoded already. */
void wisp_lua_client_run(struct host *h, wisp_handle gate, int session,
	const struct wisp_gate_event *e);
/* The client connection at idx (gate << 32 | id); raises if it is not one. */
uint64_t wisp_lua_check_conn(lua_State *L, int idx);

/* lsession.c: wisp.bind, wisp.unbind, wisp.session */
extern const luaL_Reg wisp_lua_session_funcs[];
/* Notes which connections' close the service will hear of from gate
 * (OPEN, BOUND, UNBOUND, CLOSE); 1 when e is for a handler, 0 when it was
 * only that, or a CLOSE the service heard of already. */
int wisp_lua_conn_event(struct host *h, wisp_handle gate,
	const struct wisp_gate_event *e);
/* A WISP_MSG_NODE event: a net node that is down closes the connections
 * of its gates that the service knew (their disconnect handler runs, with
 * the reason "net node down"). 1 when the service has no handler of its
 * own for node events. */
int wisp_lua_conns_node(struct host *h, const void *msg, size_t sz);
/* Pushes e's session as the last argument of the call whose function is
 * at func on co: nil, its bytes unpacked in the task as it starts, or
 * { uid = UID } when it has no bytes. */
void wisp_lua_push_session(lua_State *co, int func,
	const struct wisp_gate_event *e);

/* ltrace.c: wisp.trace(), and wisp.admin.trace(ID) */
int wisp_lua_trace(lua_State *L);
int wisp_lua_admin_trace(lua_State *L);
/* A call of t to the address at dest answered after ns: past
 * slow_call_ms, the node's console is told, to log it with its path. */
void wisp_lua_slow_call(lua_State *L, struct task *t, int dest, uint64_t ns);

/* lwisp.c: the `wisp` Lua module */
int wisp_lua_open(lua_State *L);
/* Its messaging functions (send, call, ret, names, services...). */
extern const luaL_Reg wisp_lua_message_funcs[];
/* A message type by name ("lua", "text", "exit", "socket") or number. */
int wisp_lua_type(lua_State *L, int idx);
/* What a suspended call was, for the error it raises. */
enum { AWAIT_CALL, AWAIT_SPAWN, AWAIT_REGISTER, AWAIT_SPAWN_AT };
/* Suspends task t until the answer to session, for at most ms (0: no
 * timer). */
int wisp_lua_await(lua_State *L, struct task *t, int session, uint32_t ms,
	int kind);
struct task *wisp_lua_need_task(lua_State *L, const char *what);
/* newservice(script, ...) on the stack as it is: the new service's handle
 * once its start is done, or an error raised. */
int wisp_lua_newservice(lua_State *L);
/* A WISP_MSG_SPAWN from another node's newservice_at: the script starts
 * here, and it answers that caller itself once started. */
void wisp_lua_launch(struct host *h, wisp_handle source, int session,
	const void *msg, size_t sz);
/* Sends from the running service to addr: a handle, ":hex" or a name. */
int wisp_lua_send(struct host *h, lua_State *L, int addr_idx, int type,
	int session, void *msg, size_t sz);

#endif
