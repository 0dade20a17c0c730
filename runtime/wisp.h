/* wisp.h: the whole C API a service author needs: messages, names,
 * services, timers, sockets, logging and the module entry points. */
#ifndef WISP_H
#define WISP_H

#include <stddef.h>
#include <stdint.h>

/* A handle names one service in the cluster: the node id in the high
 * WISP_NODE_BITS, the service's slot on that node in the low bits. */
typedef uint32_t wisp_handle;
#define WISP_LOCAL_BITS 22
#define WISP_NODE_BITS 10
#define WISP_LOCAL_MASK ((1u << WISP_LOCAL_BITS) - 1)
#define WISP_MAX_NODE ((1u << WISP_NODE_BITS) - 1)
#define WISP_HANDLE_NODE(h) ((h) >> WISP_LOCAL_BITS)

struct wisp_context;

/* Message types. A request carries a positive session when the sender
 * wants an answer; the answer comes back as RESPONSE or ERROR with it. */
enum {
	WISP_MSG_TEXT = 0,     /* bytes between C services */
	WISP_MSG_RESPONSE = 1, /* a reply; the session pairs it with its call */
	WISP_MSG_ERROR = 2,    /* a call failed; the payload is the reason */
	WISP_MSG_TIMER = 3,    /* a timeout fired; the session is the one given */
	WISP_MSG_SOCKET = 4,   /* a socket event: struct wisp_socket_msg */
	WISP_MSG_EXIT = 5,     /* the node is stopping: tidy up, then wisp_exit */
	WISP_MSG_LUA = 6,      /* values in the wisp serializer's format */
	WISP_MSG_BOOT = 7,     /* a Lua service's start: its packed arguments */
	WISP_MSG_CLUSTER = 8,  /* the cluster directory's requests (text) */
	WISP_MSG_NODE = 9,     /* "up NAME ID" or "down NAME ID", to monitors */
	WISP_MSG_LUA_PACKED = 10, /* as WISP_MSG_LUA, from a service of this
	                         * process, so known well formed (other nodes
	                         * get it as WISP_MSG_LUA); C services treat the
	                         * two alike */
	WISP_MSG_CLIENT = 11,  /* gate -> service: a client's frame, connect or
	                        * disconnect (proto/GATE.md); a frame's session
	                        * must be answered, reply or not */
	WISP_MSG_GATE = 12,    /* service -> gate: push, multicast, broadcast,
	                        * kick (proto/GATE.md) */
	WISP_MSG_SYSTEM = 13,  /* console -> Lua service: "gc" or "reload";
	                        * answered with text (packed) */
	WISP_MSG_SPAWN = 14,   /* another node -> its console: start a Lua
	                        * service here. "SCRIPT\0" then the packed
	                        * arguments; the new service answers with its
	                        * handle (packed) once started, or an ERROR
	                        * says why not */
	WISP_MSG_USER = 16,    /* the first type free for applications */
};

/* Returns 0 when the runtime should free msg, 1 when the callback kept it. */
typedef int (*wisp_callback)(struct wisp_context *ctx, void *ud, int type,
	int session, wisp_handle source, void *msg, size_t sz);

void wisp_set_callback(struct wisp_context *ctx, void *ud, wisp_callback cb);

/* Sending: msg must come from wisp_malloc (or be NULL); it belongs to the
 * runtime from this call on, whatever the result. Returns 0 when queued,
 * -1 when dest is unknown or dead, or its mailbox is full (it is
 * overloaded); then, if session > 0, the sender also gets a
 * WISP_MSG_ERROR naming the reason. Answers (RESPONSE, ERROR), timers,
 * socket events and EXIT are never refused. For a destination on another
 * node, 0 means handed to the harbor: a full mailbox there comes back as
 * that ERROR. */
int wisp_send(struct wisp_context *ctx, wisp_handle dest, int type,
	int session, void *msg, size_t sz);
int wisp_send_name(struct wisp_context *ctx, const char *name, int type,
	int session, void *msg, size_t sz);
/* Why the last send that returned -1 failed: "overloaded", "no such
 * service", "node unreachable" or "bad address". */
const char *wisp_send_refusal(void);
/* The calling service's mailbox limits: requests (every type but the
 * answers and events above) queued at most, and their payload bytes; both
 * at least 1. The config's mailbox_limit and mailbox_bytes are the
 * defaults. -1 when either is 0. */
#define WISP_MAILBOX_MESSAGES 100000
#define WISP_MAILBOX_BYTES ((size_t)64 << 20)
int wisp_mailbox_limit(struct wisp_context *ctx, uint32_t messages,
	size_t bytes);
/* A fresh positive session number for this service. */
int wisp_new_session(struct wisp_context *ctx);

/* Local names: 1 to 63 characters of [A-Za-z0-9_.-]. A service's names
 * go away when it exits. register returns -1 if the name is invalid or
 * taken; query returns 0 if nobody holds the name. */
int wisp_register(struct wisp_context *ctx, const char *name);
int wisp_unregister(struct wisp_context *ctx, const char *name);
wisp_handle wisp_query(const char *name);

/* Services. launch returns 0 on failure, after logging why. exit ends the
 * calling service once its current message is handled; kill ends another. */
wisp_handle wisp_launch(struct wisp_context *ctx, const char *module,
	const char *args);
void wisp_exit(struct wisp_context *ctx);
int wisp_kill(struct wisp_context *ctx, wisp_handle target);
wisp_handle wisp_self(struct wisp_context *ctx);
/* Stops the node in order (every service gets WISP_MSG_EXIT); the
 * process then exits with code. */
void wisp_shutdown(int code);
/* For an init that fails: records why, returns -1 to be returned. */
int wisp_fail(struct wisp_context *ctx, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Time: milliseconds since the node started, and a WISP_MSG_TIMER message
 * carrying session after ms milliseconds. */
uint64_t wisp_now(void);
int wisp_timeout(struct wisp_context *ctx, uint32_t ms, int session);
/* Drops the pending timeout with this session: 1 if there was one. */
int wisp_timeout_cancel(struct wisp_context *ctx, int session);

/* Traces: a message carries the trace of the one its sender was handling
 * (0: none), so a request's work is followed across services and nodes.
 * A call (a request with a session) sent with no trace starts one. Log
 * lines written while handling a traced message show it. wisp_trace is
 * the current one; wisp_trace_begin starts a new one for what the
 * handler sends from now on (the gate: one per client frame). */
uint64_t wisp_trace(void);
uint64_t wisp_trace_begin(struct wisp_context *ctx);

/* Logging goes through the logger service; lines carry node and service. */
enum { WISP_LOG_DEBUG, WISP_LOG_INFO, WISP_LOG_WARN, WISP_LOG_ERROR };
void wisp_log(struct wisp_context *ctx, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* A value from the config's env table, or NULL. */
const char *wisp_getenv(const char *key);

/* Sockets. Each is owned by one service and its events reach that service
 * as WISP_MSG_SOCKET messages whose payload is this struct. */
enum {
	WISP_SOCKET_DATA = 1,    /* data[0..size) arrived */
	WISP_SOCKET_ACCEPT = 2,  /* listener id accepted socket ud; data: peer */
	WISP_SOCKET_CONNECT = 3, /* the connect on id succeeded */
	WISP_SOCKET_CLOSE = 4,   /* the peer closed id */
	WISP_SOCKET_ERROR = 5,   /* id failed and is closed; data: the reason */
};
struct wisp_socket_msg {
	int event;
	int id;
	int ud;
	uint32_t size;
	char data[];
};
/* listen and connect return a socket id, or -1 with errno set. An accepted
 * socket reads nothing until a service takes it with wisp_socket_start. */
int wisp_socket_listen(struct wisp_context *ctx, const char *host, int port,
	int backlog);
int wisp_socket_connect(struct wisp_context *ctx, const char *host, int port);
int wisp_socket_start(struct wisp_context *ctx, int id);
/* Copies what cannot be written at once. -1 when id is not open, or when
 * the socket's write buffer would pass its limit: then the socket is
 * closed and its owner gets a WISP_SOCKET_ERROR saying so. */
int wisp_socket_write(struct wisp_context *ctx, int id, const void *data,
	size_t sz);
/* Writes what is buffered, then closes; no event follows. */
void wisp_socket_close(struct wisp_context *ctx, int id);

/* Memory for payloads: through jemalloc unless built without it. */
void *wisp_malloc(size_t sz);
void *wisp_realloc(void *p, size_t sz);
void wisp_free(void *p);
char *wisp_strdup(const char *s);

/* Lua's messages for C services: wisp_value.h. */
#include "wisp_value.h"

/* A module NAME is NAME.so on the module path, exporting:
 *   void *NAME_create(void);
 *   int   NAME_init(void *inst, struct wisp_context *ctx, const char *args);
 *   void  NAME_release(void *inst);
 *   void  NAME_signal(void *inst, int signal);   (optional)
 * init returns 0 on success; on failure, return wisp_fail(ctx, ...). */

#endif
