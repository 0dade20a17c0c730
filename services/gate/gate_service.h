/* gate_service.h: the gate, the service a net node runs to hold client
 * connections. service.c owns its life and messages, conn.c the
 * connections (reading, limits, closing), forward.c what goes to services
 * (frames by command id, connects and disconnects), flow.c the commands
 * in flight, their order, how each ends for its client (error frames)
 * and how a client is held to gate.max_inflight, push.c what
 * services send to clients, broadcast.c frames to every client, written
 * in slices between rounds, bind.c the connections bound to services and
 * their session data, routes.c the routes' targets resolved to handles,
 * ws.c WebSocket clients (their upgrade parsed by ws_upgrade.c), tls.c
 * TLS clients (gate.tls) and every write to a client. */
#ifndef WISP_GATE_SERVICE_H
#define WISP_GATE_SERVICE_H

#include <stddef.h>
#include <stdint.h>
#include "client.h"
#include "gate.h"
#include "gate_config.h"
#include "keymap.h"
#include "wisp.h"

/* What a client reads past gate.max_inflight waits for a free slot; the
 * socket is read no further while this much is unused (in the backlog or
 * still in the gate's mailbox), so that is all one client can make the
 * node hold. */
#define GATE_READ_AHEAD (16 * 1024)

struct gate_cmd;     /* flow.c: a command in flight */
struct gate_backlog; /* flow.c: bytes read, waiting for a free slot */
struct gate_bind;    /* bind.c: the services a conn is bound to, its session */
struct gate_command_route; /* routes.c: a route of gate.commands */
struct gate_broadcast; /* broadcast.c: a frame for every client */
struct gate_ws;      /* ws.c: a WebSocket client's upgrade and framing */
struct gate_tls;     /* tls.c: a TLS client's session */
struct gate_tls_server; /* tls.c: gate.tls's context, output to flush */

/* One client. Kept small: a net node holds tens of thousands. */
struct gate_conn {
	int id;            /* the socket's id, and the conn id services see */
	uint32_t index;    /* in gate.list */
	uint64_t last_in_ms;
	uint64_t tokens;   /* rate limit: frames allowed now, times 1000 */
	uint64_t refill_ms;
	uint64_t frame_due_ms; /* its unfinished frame must be whole by then */
	uint64_t first_due_ms; /* and its first frame; 0: no such deadline */
	uint64_t addr_key; /* counted under it in gate.per_address; 0: not */
	uint32_t held;     /* its decoder's bytes, counted in gate.partial_bytes */
	uint32_t inflight; /* commands forwarded and not over (flow.c) */
	uint32_t request;  /* the request id of the frame being forwarded now
	                    * (gate.request_ids; 0 without) */
	uint32_t bcast_seq; /* the last broadcast it has had (broadcast.c) */
	uint8_t ordered;   /* an ordered command of its is in flight */
	struct gate_cmd *cmds;        /* those commands */
	struct gate_backlog *backlog; /* NULL unless frames wait (flow.c) */
	struct gate_bind *bind;       /* NULL unless bound or given a session */
	struct gate_ws *ws;           /* NULL for a TCP client */
	struct gate_tls *tls;         /* NULL for a plaintext client */
	struct wisp_client_decoder dec;
	char addr[48];     /* the client's address, for logs and events */
};

/* Why a command ended with no reply. */
enum gate_failure {
	GATE_FAIL_UNROUTED,    /* no route, or no service of the route's name */
	GATE_FAIL_OVERLOADED,  /* the service's mailbox is full */
	GATE_FAIL_UNREACHABLE, /* its node is down or cannot be reached */
	GATE_FAIL_EXITED,      /* the service exited before answering */
	GATE_FAIL_HANDLER,     /* the handler raised, or answered wrongly */
	GATE_FAIL_TIMEOUT,     /* no answer within gate.reply_timeout */
	GATE_FAILURES
};

struct gate_stats {
	uint64_t accepted, refused;
	uint64_t frames_in, frames_out, bytes_in, bytes_out;
	uint64_t bad_frames, slow_dropped, idle_closed, rate_closed, kicked;
	uint64_t frame_closed, budget_closed, address_refused;
	uint64_t throttled; /* times a client was held at gate.max_inflight */
	uint64_t failed[GATE_FAILURES]; /* commands ended with no reply */
	uint64_t error_frames[GATE_FAILURES]; /* and those told by a frame */
};

/* Warnings that could come for every frame or connection, each logged at
 * most once a second. */
enum gate_warning {
	GATE_WARN_REFUSED,  /* past max_connections */
	GATE_WARN_BAD_OP,   /* a malformed message from a service */
	GATE_WARN_PER_ADDRESS, /* past max_per_address */
	GATE_WARN_HELD,     /* a client held at max_inflight */
	GATE_WARN_BIND,     /* a binding refused or dropped */
	GATE_WARN_WS,       /* a WebSocket client refused or closed (ws.c) */
	GATE_WARN_WS_BYE,   /* a WebSocket client's own close */
	GATE_WARN_TLS,      /* a TLS client closed for what it sent */
	GATE_WARN_FAILED,   /* a command failed: one for each enum gate_failure */
	GATE_WARNINGS = GATE_WARN_FAILED + GATE_FAILURES
};

struct gate {
	struct wisp_context *ctx;
	const struct wisp_gate_settings *cfg;
	struct wisp_client_proto proto;
	int listener;
	int port;                  /* the port bound */
	int ws_listener;           /* gate.ws_listen's, or -1 */
	int ws_port;
	struct gate_tls_server *tls; /* NULL without gate.tls */
	struct wisp_keymap by_id;  /* socket id -> struct gate_conn */
	struct gate_conn **list;   /* every conn, for broadcast and sweeps */
	uint32_t count, cap;
	struct wisp_keymap per_address; /* address key -> clients, as a pointer */
	size_t partial_bytes;      /* held for unfinished frames and in the
	                            * backlogs of clients held at max_inflight */
	struct wisp_keymap cmds;   /* session -> struct gate_cmd in flight */
	struct gate_cmd *oldest, *newest; /* the same, by deadline */
	struct wisp_keymap bound_refs; /* bound service -> its routes (bind.c) */
	struct wisp_keymap bound_gone; /* those of them known gone */
	struct gate_command_route *routes; /* routes.c: gate.commands' */
	size_t route_count;
	int tick_session;
	struct gate_broadcast *bcast_head, *bcast_tail; /* being written */
	uint32_t bcast_seq;        /* the number of the newest broadcast */
	int bcast_mailed;          /* the gate has mailed itself to go on */
	uint64_t quiet_until_ms[GATE_WARNINGS]; /* each waits until then */
	struct gate_stats stats;
};

/* The gate of this node, if it runs one; other services read it through
 * gate_api.h (api.c). */
extern struct gate *wisp_gate_active;

/* conn.c */
/* ws: the client came to gate.ws_listen, and must upgrade first. */
void wisp_gate_accepted(struct gate *g, int id, const char *addr, int ws);
struct gate_conn *wisp_gate_conn(struct gate *g, uint32_t id);
void wisp_gate_data(struct gate *g, struct gate_conn *c, const uint8_t *data,
	size_t size);
/* Forwards the frames in data while each may go now (wisp_gate_flow_next),
 * with any request id taken off the body into c->request. The bytes used,
 * or -1 when c was closed (a bad frame, a limit, or an error frame to a
 * client over gate.output_limit). */
long wisp_gate_decode(struct gate *g, struct gate_conn *c,
	const uint8_t *data, size_t size);
/* Closes c (what is queued for it is still sent) and tells the events
 * service why. */
void wisp_gate_close(struct gate *g, struct gate_conn *c, const char *why);
/* The socket is gone already (closed by the client, failed). */
void wisp_gate_lost(struct gate *g, struct gate_conn *c, const char *why);
/* A write to c found its output over gate.output_limit. */
void wisp_gate_slow(struct gate *g, struct gate_conn *c);
/* Closes the conns past a deadline: silent for the idle timeout, a frame
 * or the first frame not whole in time. */
void wisp_gate_sweep(struct gate *g, uint64_t now_ms);
/* How often the sweep should run for its deadlines to be kept closely. */
uint32_t wisp_gate_sweep_every(const struct gate *g);
/* 1 when a warning of this kind may be logged now. */
int wisp_gate_may_warn(struct gate *g, enum gate_warning kind);

/* Bytes from c in the clear (a TLS client's decrypted): to the WebSocket
 * upgrade and framing, or to the frame decoder. */
void wisp_gate_plain(struct gate *g, struct gate_conn *c,
	const uint8_t *data, size_t size);

/* tls.c: gate.tls, and TLS clients; each conn with c->tls. */
/* gate.tls's files into the context: 0, or -1 (wisp_fail) naming the
 * file and what OpenSSL said. Nothing without gate.tls. */
int wisp_gate_tls_init(struct gate *g);
/* SIGHUP: the files read again, for new clients; on an error the old
 * certificate stays, and the error is logged. */
void wisp_gate_tls_reload(struct gate *g);
void wisp_gate_tls_exit(struct gate *g);
/* A session for c, a new client (with g->tls): 0, or -1. */
int wisp_gate_tls_open(struct gate *g, struct gate_conn *c);
void wisp_gate_tls_free(struct gate_conn *c);
/* Whether c has not finished its handshake (services do not know it). */
int wisp_gate_tls_pending(const struct gate_conn *c);
/* The gate's mail to itself that carries a byte (broadcast.c's carry
 * none): what was written to TLS clients with later, encrypted. */
void wisp_gate_tls_flush(struct gate *g);
/* c's output waiting for that, now (c is closing). */
void wisp_gate_tls_flush_conn(struct gate_conn *c);
/* Ciphertext read from c. */
void wisp_gate_tls_data(struct gate *g, struct gate_conn *c,
	const uint8_t *data, size_t size);
/* The gate is done with n bytes c's data path was handed: given back to
 * the socket layer (for a TLS client, as ciphertext: tls.c says how). */
void wisp_gate_consumed(struct gate_conn *c, size_t n);
/* Every write of the gate to a client, encrypted for a TLS one: as
 * wisp_net_write, or wisp_net_write_later when later (for a TLS client,
 * gathered until the gate's mail to itself: one record for the lot). */
int wisp_gate_write(struct gate_conn *c, const void *data, size_t size,
	int later);

/* ws.c: WebSocket clients; each conn with c->ws. */
void wisp_gate_ws_open(struct gate *g, struct gate_conn *c);
void wisp_gate_ws_free(struct gate_conn *c);
/* Whether c has not finished its upgrade (services do not know it yet). */
int wisp_gate_ws_pending(const struct gate_conn *c);
/* Bytes read from c: the upgrade, then frames, whose messages go on to
 * wisp_gate_flow_in. */
void wisp_gate_ws_data(struct gate *g, struct gate_conn *c,
	const uint8_t *data, size_t size);
/* The header of a binary message of size bytes to c, before the wisp
 * frame that is its payload: as wisp_net_write (later: _later), or 1 when
 * c takes no frames (not upgraded yet, or closing). */
int wisp_gate_ws_head(struct gate_conn *c, size_t size, int later);
/* A ping to c, silent for half gate.idle_timeout; once per silence. */
void wisp_gate_ws_ping(struct gate_conn *c);
/* A close frame to c with code and why, unless one went already. */
void wisp_gate_ws_bye(struct gate_conn *c, uint16_t code, const char *why);

/* forward.c */
void wisp_gate_forward(struct gate *g, struct gate_conn *c,
	const struct wisp_client_frame *f);
void wisp_gate_event(struct gate *g, struct gate_conn *c, int kind,
	const char *text);

/* flow.c */
/* Whether c is read on: not when it has gate.max_inflight commands in
 * flight or frames waiting for earlier ones to end (then it waits on the
 * gate, and is not idle, however long it is silent). */
int wisp_gate_flow_open(const struct gate *g, const struct gate_conn *c);
/* Whether the decoder may go on to c's next frame, whose bytes begin at
 * data: by its route's order and gate.max_inflight. */
int wisp_gate_flow_next(const struct gate *g, const struct gate_conn *c,
	const uint8_t *data, size_t size);
/* Bytes read from c: decoded as far as c's free slots go, the rest kept. */
void wisp_gate_flow_in(struct gate *g, struct gate_conn *c,
	const uint8_t *data, size_t size);
/* A frame of c's has gone to its service as a request with session. */
void wisp_gate_flow_sent(struct gate *g, struct gate_conn *c, int session,
	uint32_t command);
/* A RESPONSE or ERROR for a session of the gate's: the end of a command. */
void wisp_gate_answer(struct gate *g, int type, int session,
	const void *msg, size_t sz);
/* The command of c's being forwarded now (request c->request) ended with
 * no reply: counted by kind, logged at most once a second for each, and
 * told to c in an error frame, which may drop c (wisp_gate_slow). */
void wisp_gate_failed(struct gate *g, struct gate_conn *c, uint32_t command,
	enum gate_failure kind, const char *why);
/* Ends the commands in flight past gate.reply_timeout. */
void wisp_gate_flow_sweep(struct gate *g, uint64_t now_ms);
/* c is going: its commands and backlog go with it. */
void wisp_gate_flow_forget(struct gate *g, struct gate_conn *c);
/* conn.c: closes c, whose bytes waiting for the decoder have grown while
 * gate.partial_budget is full. */
void wisp_gate_over_budget(struct gate *g, struct gate_conn *c);

/* push.c: a WISP_MSG_GATE message from a service */
void wisp_gate_op(struct gate *g, wisp_handle source, const void *msg,
	size_t sz);
/* A message from source that the gate drops: logged at most once a second. */
void wisp_gate_bad_op(struct gate *g, wisp_handle source, const char *why);
/* A frame of command to c, now or at the end of the round, answering
 * request (with gate.request_ids; a push carries 0). */
void wisp_gate_reply(struct gate *g, struct gate_conn *c, uint32_t command,
	uint32_t request, const void *body, size_t size);
/* The largest body a service may send a client: gate.max_body, less the
 * request id's with gate.request_ids. */
size_t wisp_gate_max_payload(const struct gate *g);

/* broadcast.c */
/* A frame (head, then body) for every client now connected, written in
 * slices between rounds. */
void wisp_gate_broadcast(struct gate *g, const void *head, size_t head_size,
	const void *body, size_t body_size);
/* Queues for c the pending broadcasts it has not had, before another frame
 * to it; -1 when that dropped c (over gate.output_limit). */
int wisp_gate_catch_up(struct gate *g, struct gate_conn *c);
/* The gate's mail to itself: the next slice. */
void wisp_gate_broadcast_turn(struct gate *g);
/* Writes what is pending at once (the node is stopping). */
void wisp_gate_broadcast_finish(struct gate *g);
void wisp_gate_broadcast_free(struct gate *g);

/* forward.c: an event about c to to, a service c is bound to (flagged
 * bound, with c's session); text may be NULL. */
void wisp_gate_tell(struct gate *g, struct gate_conn *c, wisp_handle to,
	int kind, const char *text);

/* bind.c */
/* A BIND, UNBIND or SESSION op from source. */
void wisp_gate_bind_op(struct gate *g, wisp_handle source,
	const struct wisp_gate_op *op);
/* The service c (which has c->bind) is bound to for command, or 0 for
 * gate.commands' route. */
wisp_handle wisp_gate_bound(struct gate *g, struct gate_conn *c,
	uint32_t command);
/* 1 with c's session in *s, or 0 when it has none. */
int wisp_gate_session_of(const struct gate_conn *c,
	struct wisp_gate_session *s);
/* c (which has c->bind) closed: each service bound to it gets the CLOSE,
 * and its bindings and session go. */
void wisp_gate_unbind_closed(struct gate *g, struct gate_conn *c,
	const char *why);
/* An ERROR from source: if it says that source, a bound service, is not
 * there, its bindings go. */
void wisp_gate_bind_error(struct gate *g, wisp_handle source,
	const void *msg, size_t sz);
/* A WISP_MSG_NODE event: the bindings to a node that is down go. */
void wisp_gate_bind_node(struct gate *g, const void *msg, size_t sz);
void wisp_gate_bind_free(struct gate *g);

/* routes.c */
/* gate.commands into the gate's own table, each target parsed: at start. */
void wisp_gate_routes_init(struct gate *g);
/* Whether command waits for its client's earlier commands: unless its
 * route says ordered = false. A command no route covers is ordered too,
 * so that its error frame keeps its place. */
int wisp_gate_route_ordered(const struct gate *g, uint32_t command);
/* Where command goes: 0 with its route's service (as the config names it)
 * in *service and the handle it goes to in *to, resolved once and again
 * when it may have gone stale (0 while not known: then send by name); -1
 * when no route covers command. */
int wisp_gate_route_of(struct gate *g, uint32_t command, wisp_handle *to,
	const char **service);
void wisp_gate_routes_free(struct gate *g);

#endif
