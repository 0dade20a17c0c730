/* gate.h: the messages between a gate and the services behind it,
 * specified in GATE.md. A gate tells services of client frames, connects
 * and disconnects (WISP_MSG_CLIENT); a service ends each frame's command
 * with an answer (WISP_MSG_RESPONSE); services ask a gate to push,
 * multicast, broadcast or kick (WISP_MSG_GATE). All may cross the
 * harbor, so every decoder takes untrusted bytes. */
#ifndef WISP_GATE_H
#define WISP_GATE_H

#include <stddef.h>
#include <stdint.h>

/* The local name every gate registers: services reach it as "gate" on its
 * node and "gate@NODE" from others (a broadcast goes to each). */
#define WISP_GATE_NAME "gate"

/* WISP_MSG_CLIENT: kind u8, conn u32, command u32, then data. */
#define WISP_GATE_EVENT_HEADER 9

enum wisp_gate_event_kind {
	WISP_GATE_FRAME = 0, /* data: the frame's body */
	WISP_GATE_OPEN = 1,  /* data: the client's address; command 0 */
	WISP_GATE_CLOSE = 2, /* data: why it closed; command 0 */
};

struct wisp_gate_event {
	uint8_t kind;
	uint32_t conn;    /* the gate's id for the connection, never 0 */
	uint32_t command;
	const uint8_t *data;
	size_t size;
};

/* The whole message in one block from wisp_malloc; *sz gets its size. */
void *wisp_gate_event_encode(int kind, uint32_t conn, uint32_t command,
	const void *data, size_t size, size_t *sz);
/* 0 with *out pointing into msg, or -1 when msg is not a well-formed
 * event (too short, an unknown kind, conn 0). */
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

/* One block from wisp_malloc; *sz gets its size. */
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
 * wisp_malloc; *sz gets its size. */
uint8_t *wisp_gate_op_new(int op, uint32_t command, uint32_t count,
	const void *data, size_t size, size_t *sz);
void wisp_gate_op_set_conn(uint8_t *msg, uint32_t i, uint32_t conn);
/* 0 with *out pointing into msg, or -1 when msg is not a well-formed op
 * (too short, an unknown op, a count the size cannot hold, a PUSH or KICK
 * with no conn, a BROADCAST with some). */
int wisp_gate_op_decode(const void *msg, size_t sz, struct wisp_gate_op *out);
/* The i-th conn id of a decoded op (i < count). */
uint32_t wisp_gate_op_conn(const struct wisp_gate_op *op, uint32_t i);

#endif
