/* gate.h: the messages between a gate and the services behind it,
 * specified in GATE.md. A gate tells services of client frames, connects
 * and disconnects (WISP_MSG_CLIENT); a service ends each frame's command
 * with an answer (WISP_MSG_RESPONSE); services ask a gate to push,
 * multicast, broadcast or kick, to bind a connection to a service and to
 * keep its session data (WISP_MSG_GATE). All may cross the
 * harbor, so every decoder takes untrusted bytes. */
#ifndef WISP_GATE_H
#define WISP_GATE_H

#include <stddef.h>
#include <stdint.h>

/* The local name every gate registers: services reach it as "gate" on its
 * node and "gate@NODE" from others (a broadcast goes to each). */
#define WISP_GATE_NAME "gate"

/* WISP_MSG_CLIENT: kind u8 (with flags), conn u32, command u32, then the
 * session when flagged, then data. */
#define WISP_GATE_EVENT_HEADER 9

enum wisp_gate_event_kind {
	WISP_GATE_FRAME = 0,   /* data: the frame's body */
	WISP_GATE_OPEN = 1,    /* data: the client's address; command 0 */
	WISP_GATE_CLOSE = 2,   /* data: why it closed; command 0 */
	WISP_GATE_BOUND = 3,   /* the receiver is now bound to the conn; no data */
	WISP_GATE_UNBOUND = 4, /* it is bound no more; no data */
};

/* Flags in the kind byte, above the kind. */
#define WISP_GATE_KIND_MASK 0x3f
#define WISP_GATE_F_BOUND 0x40   /* sent to the conn's bound service */
#define WISP_GATE_F_SESSION 0x80 /* the session follows the header */

/* Session data a gate keeps for a connection and sends with its events:
 * a user id and bytes (a value packed by proto/value.c), at most
 * WISP_GATE_SESSION_MAX of them. On the wire: uid u64, size u16, bytes. */
#define WISP_GATE_SESSION_MAX 1024
#define WISP_GATE_SESSION_HEADER 10

struct wisp_gate_session {
	uint64_t uid;
	const uint8_t *data;
	size_t size;
};

struct wisp_gate_event {
	uint8_t kind;        /* enum wisp_gate_event_kind, without the flags */
	uint8_t bound;       /* WISP_GATE_F_BOUND was set */
	uint8_t has_session; /* session holds the connection's session */
	uint32_t conn;       /* the gate's id for the connection, never 0 */
	uint32_t command;
	struct wisp_gate_session session;
	const uint8_t *data;
	size_t size;
};

/* The whole message in one block from wisp_proto_malloc; *sz gets its
 * size. e->session is written when e->has_session is set. */
void *wisp_gate_event_encode(const struct wisp_gate_event *e, size_t *sz);
/* 0 with *out pointing into msg, or -1 when msg is not a well-formed
 * event (too short, an unknown kind, conn 0, a session cut short or over
 * WISP_GATE_SESSION_MAX). */
int wisp_gate_event_decode(const void *msg, size_t sz,
	struct wisp_gate_event *out);

/* A FRAME comes with a positive session of the gate's: the command is in
 * flight until the service answers it, once. WISP_MSG_RESPONSE carries
 * this answer (kind u8, then the reply's body); a WISP_MSG_ERROR with the
 * reason ends the command as well. */
#define WISP_GATE_ANSWER_HEADER 1

enum wisp_gate_answer_kind {
	WISP_GATE_DONE = 0,  /* no reply; no body */
	WISP_GATE_REPLY = 1, /* a frame of the command, with the body, back */
};

struct wisp_gate_answer {
	uint8_t kind;
	const uint8_t *body;
	size_t size;
};

/* One block from wisp_proto_malloc; *sz gets its size. */
void *wisp_gate_answer_encode(int kind, const void *body, size_t size,
	size_t *sz);
/* 0 with *out pointing into msg, or -1 when msg is not a well-formed
 * answer (empty, an unknown kind, a DONE with a body). */
int wisp_gate_answer_decode(const void *msg, size_t sz,
	struct wisp_gate_answer *out);

/* WISP_MSG_GATE: op u8, command u32, count u32, count conn ids (u32
 * each), then data. */
#define WISP_GATE_OP_HEADER 9

enum wisp_gate_op_kind {
	WISP_GATE_PUSH = 1,      /* a frame to each listed conn (1 or more) */
	WISP_GATE_BROADCAST = 2, /* a frame to every conn; count is 0 */
	WISP_GATE_KICK = 3,      /* close each listed conn; data: the reason */
	WISP_GATE_BIND = 4,      /* each conn's frames (of some commands) to a
	                          * service; data: a binding */
	WISP_GATE_UNBIND = 5,    /* undoes BIND; data: a binding */
	WISP_GATE_SESSION = 6,   /* each conn's session data; data: a session,
	                          * or nothing to drop it */
};

struct wisp_gate_op {
	uint8_t op;
	uint32_t command;
	uint32_t count;
	const uint8_t *conns; /* count ids; read them with wisp_gate_op_conn */
	const uint8_t *data;
	size_t size;
};

/* A message with room for count conn ids, set afterwards with
 * wisp_gate_op_set_conn; header and data written. One block from
 * wisp_proto_malloc; *sz gets its size. */
uint8_t *wisp_gate_op_new(int op, uint32_t command, uint32_t count,
	const void *data, size_t size, size_t *sz);
void wisp_gate_op_set_conn(uint8_t *msg, uint32_t i, uint32_t conn);
/* 0 with *out pointing into msg, or -1 when msg is not a well-formed op
 * (too short, an unknown op, a count the size cannot hold, a BROADCAST
 * with a conn, another op with none). */
int wisp_gate_op_decode(const void *msg, size_t sz, struct wisp_gate_op *out);
/* The i-th conn id of a decoded op (i < count). */
uint32_t wisp_gate_op_conn(const struct wisp_gate_op *op, uint32_t i);

/* The data of BIND and UNBIND: target u32 (BIND: the service; UNBIND:
 * only what is bound to it, 0 for anything), then up to
 * WISP_GATE_RANGES_MAX ranges of command ids, lo u32 and hi u32 each,
 * lo <= hi; no range means every command. */
#define WISP_GATE_RANGES_MAX 16

struct wisp_gate_range {
	uint32_t lo, hi;
};

struct wisp_gate_binding {
	uint32_t target;
	uint32_t count;        /* ranges; 0: every command */
	const uint8_t *ranges; /* read them with wisp_gate_binding_range */
};

/* A BIND or UNBIND with room for count conn ids. */
uint8_t *wisp_gate_binding_new(int op, uint32_t target,
	const struct wisp_gate_range *ranges, uint32_t nranges, uint32_t count,
	size_t *sz);
/* 0 with *out pointing into op's data, or -1 when it is not a binding
 * (a size not 4 + 8n, more than WISP_GATE_RANGES_MAX ranges, lo > hi, a
 * BIND to target 0). */
int wisp_gate_binding_decode(const struct wisp_gate_op *op,
	struct wisp_gate_binding *out);
struct wisp_gate_range wisp_gate_binding_range(
	const struct wisp_gate_binding *b, uint32_t i);

/* A SESSION op with room for count conn ids: the session s, or none
 * (s NULL) to drop it. Its data is uid u64 then s->size bytes. */
uint8_t *wisp_gate_session_new(const struct wisp_gate_session *s,
	uint32_t count, size_t *sz);
/* 1 with *out pointing into op's data, 0 when the op drops the session
 * (no data), -1 when the data is not a session (shorter than the uid,
 * bytes over WISP_GATE_SESSION_MAX). */
int wisp_gate_session_decode(const struct wisp_gate_op *op,
	struct wisp_gate_session *out);

#endif
