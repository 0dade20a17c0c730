/* gate.c: the gate's messages of GATE.md, WISP_MSG_CLIENT (gate to
 * service), the answer that ends a frame's command (service to gate, as
 * WISP_MSG_RESPONSE) and WISP_MSG_GATE (service to gate). Any may come
 * from another node, so the decoders trust no byte: each checks every length
 * against the bytes it was given before pointing into them. The encoders
 * trust their caller and write what they are told. */
#include <string.h>
#include "wisp.h"
#include "gate.h"

/* Where each field starts; each ends where the next begins. */
enum { EV_KIND = 0, EV_CONN = 1, EV_COMMAND = 5 };
enum { OP_OP = 0, OP_COMMAND = 1, OP_COUNT = 5 };

static void put_le32(uint8_t *b, uint32_t v)
{
	b[0] = (uint8_t)v;
	b[1] = (uint8_t)(v >> 8);
	b[2] = (uint8_t)(v >> 16);
	b[3] = (uint8_t)(v >> 24);
}

static uint32_t get_le32(const uint8_t *b)
{
	return b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
		(uint32_t)b[3] << 24;
}

void *wisp_gate_event_encode(int kind, uint32_t conn, uint32_t command,
	const void *data, size_t size, size_t *sz)
{
	uint8_t *msg = wisp_malloc(WISP_GATE_EVENT_HEADER + size);
	msg[EV_KIND] = (uint8_t)kind;
	put_le32(msg + EV_CONN, conn);
	put_le32(msg + EV_COMMAND, command);
	if (size)
		memcpy(msg + WISP_GATE_EVENT_HEADER, data, size);
	*sz = WISP_GATE_EVENT_HEADER + size;
	return msg;
}

int wisp_gate_event_decode(const void *msg, size_t sz,
	struct wisp_gate_event *out)
{
	const uint8_t *m = msg;
	if (sz < WISP_GATE_EVENT_HEADER || m[EV_KIND] > WISP_GATE_CLOSE)
		return -1;
	uint32_t conn = get_le32(m + EV_CONN);
	if (conn == 0)
		return -1;
	out->kind = m[EV_KIND];
	out->conn = conn;
	out->command = get_le32(m + EV_COMMAND);
	out->data = m + WISP_GATE_EVENT_HEADER;
	out->size = sz - WISP_GATE_EVENT_HEADER;
	return 0;
}

void *wisp_gate_answer_encode(int kind, const void *body, size_t size,
	size_t *sz)
{
	uint8_t *msg = wisp_malloc(WISP_GATE_ANSWER_HEADER + size);
	msg[0] = (uint8_t)kind;
	if (size)
		memcpy(msg + WISP_GATE_ANSWER_HEADER, body, size);
	*sz = WISP_GATE_ANSWER_HEADER + size;
	return msg;
}

int wisp_gate_answer_decode(const void *msg, size_t sz,
	struct wisp_gate_answer *out)
{
	const uint8_t *m = msg;
	if (sz < WISP_GATE_ANSWER_HEADER || m[0] > WISP_GATE_REPLY ||
		(m[0] == WISP_GATE_DONE && sz != WISP_GATE_ANSWER_HEADER))
		return -1;
	out->kind = m[0];
	out->body = m + WISP_GATE_ANSWER_HEADER;
	out->size = sz - WISP_GATE_ANSWER_HEADER;
	return 0;
}

/* Where the i-th conn id sits; size_t, so 4 * i cannot wrap. */
static size_t conn_at(uint32_t i)
{
	return WISP_GATE_OP_HEADER + (size_t)4 * i;
}

uint8_t *wisp_gate_op_new(int op, uint32_t command, uint32_t count,
	const void *data, size_t size, size_t *sz)
{
	size_t ids_end = conn_at(count);
	uint8_t *msg = wisp_malloc(ids_end + size);
	msg[OP_OP] = (uint8_t)op;
	put_le32(msg + OP_COMMAND, command);
	put_le32(msg + OP_COUNT, count);
	if (size)
		memcpy(msg + ids_end, data, size);
	*sz = ids_end + size;
	return msg;
}

void wisp_gate_op_set_conn(uint8_t *msg, uint32_t i, uint32_t conn)
{
	put_le32(msg + conn_at(i), conn);
}

/* Whether op takes count conn ids: a list for PUSH and KICK, none for
 * BROADCAST; an unknown op takes nothing. */
static int count_suits(uint8_t op, uint32_t count)
{
	switch (op) {
	case WISP_GATE_PUSH:
	case WISP_GATE_KICK:
		return count > 0;
	case WISP_GATE_BROADCAST:
		return count == 0;
	default:
		return 0;
	}
}

int wisp_gate_op_decode(const void *msg, size_t sz, struct wisp_gate_op *out)
{
	const uint8_t *m = msg;
	if (sz < WISP_GATE_OP_HEADER)
		return -1;
	uint32_t count = get_le32(m + OP_COUNT);
	/* divided, not multiplied: count * 4 could wrap past a small sz */
	if (count > (sz - WISP_GATE_OP_HEADER) / 4 ||
		!count_suits(m[OP_OP], count))
		return -1;
	out->op = m[OP_OP];
	out->command = get_le32(m + OP_COMMAND);
	out->count = count;
	out->conns = m + WISP_GATE_OP_HEADER;
	out->data = m + conn_at(count);
	out->size = sz - conn_at(count);
	return 0;
}

uint32_t wisp_gate_op_conn(const struct wisp_gate_op *op, uint32_t i)
{
	return get_le32(op->conns + (size_t)4 * i);
}
