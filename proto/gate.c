/* gate.c: the gate's messages of GATE.md, WISP_MSG_CLIENT (gate to
 * service), the answer that ends a frame's command (service to gate, as
 * WISP_MSG_RESPONSE) and WISP_MSG_GATE (service to gate), with the
 * bindings and session data some ops carry. Any may come
 * from another node, so the decoders trust no byte: each checks every length
 * against the bytes it was given before pointing into them. The encoders
 * trust their caller and write what they are told. */
#include <string.h>
#include "proto_alloc.h"
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

static void put_le64(uint8_t *b, uint64_t v)
{
	put_le32(b, (uint32_t)v);
	put_le32(b + 4, (uint32_t)(v >> 32));
}

static uint64_t get_le64(const uint8_t *b)
{
	return get_le32(b) | (uint64_t)get_le32(b + 4) << 32;
}

static size_t session_size(const struct wisp_gate_event *e)
{
	return e->has_session ? WISP_GATE_SESSION_HEADER + e->session.size : 0;
}

void *wisp_gate_event_encode(const struct wisp_gate_event *e, size_t *sz)
{
	size_t head = WISP_GATE_EVENT_HEADER + session_size(e);
	uint8_t *msg = wisp_proto_malloc(head + e->size);
	msg[EV_KIND] = (uint8_t)(e->kind | (e->bound ? WISP_GATE_F_BOUND : 0)
		| (e->has_session ? WISP_GATE_F_SESSION : 0));
	put_le32(msg + EV_CONN, e->conn);
	put_le32(msg + EV_COMMAND, e->command);
	if (e->has_session) {
		uint8_t *s = msg + WISP_GATE_EVENT_HEADER;
		put_le64(s, e->session.uid);
		s[8] = (uint8_t)e->session.size;
		s[9] = (uint8_t)(e->session.size >> 8);
		if (e->session.size)
			memcpy(s + WISP_GATE_SESSION_HEADER, e->session.data,
				e->session.size);
	}
	if (e->size)
		memcpy(msg + head, e->data, e->size);
	*sz = head + e->size;
	return msg;
}

/* The session after an event's header, from the rest bytes there: the
 * bytes it takes, or -1. */
static long read_session(const uint8_t *m, size_t rest,
	struct wisp_gate_session *s)
{
	if (rest < WISP_GATE_SESSION_HEADER)
		return -1;
	size_t size = m[8] | (size_t)m[9] << 8;
	if (size > WISP_GATE_SESSION_MAX
		|| size > rest - WISP_GATE_SESSION_HEADER)
		return -1;
	s->uid = get_le64(m);
	s->data = m + WISP_GATE_SESSION_HEADER;
	s->size = size;
	return (long)(WISP_GATE_SESSION_HEADER + size);
}

int wisp_gate_event_decode(const void *msg, size_t sz,
	struct wisp_gate_event *out)
{
	const uint8_t *m = msg;
	if (sz < WISP_GATE_EVENT_HEADER
		|| (m[EV_KIND] & WISP_GATE_KIND_MASK) > WISP_GATE_UNBOUND)
		return -1;
	uint32_t conn = get_le32(m + EV_CONN);
	if (conn == 0)
		return -1;
	size_t head = WISP_GATE_EVENT_HEADER;
	out->has_session = (m[EV_KIND] & WISP_GATE_F_SESSION) != 0;
	if (out->has_session) {
		long used = read_session(m + head, sz - head, &out->session);
		if (used < 0)
			return -1;
		head += (size_t)used;
	} else {
		out->session = (struct wisp_gate_session){ 0, NULL, 0 };
	}
	out->kind = m[EV_KIND] & WISP_GATE_KIND_MASK;
	out->bound = (m[EV_KIND] & WISP_GATE_F_BOUND) != 0;
	out->conn = conn;
	out->command = get_le32(m + EV_COMMAND);
	out->data = m + head;
	out->size = sz - head;
	return 0;
}

void *wisp_gate_answer_encode(int kind, const void *body, size_t size,
	size_t *sz)
{
	uint8_t *msg = wisp_proto_malloc(WISP_GATE_ANSWER_HEADER + size);
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
	uint8_t *msg = wisp_proto_malloc(ids_end + size);
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

/* Whether op takes count conn ids: none for BROADCAST, a list for the
 * others; an unknown op takes nothing. */
static int count_suits(uint8_t op, uint32_t count)
{
	if (op == WISP_GATE_BROADCAST)
		return count == 0;
	return op >= WISP_GATE_PUSH && op <= WISP_GATE_SESSION && count > 0;
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

/* A binding's bytes: target, then each range's lo and hi. */
#define BINDING_HEADER 4
#define RANGE_SIZE 8

uint8_t *wisp_gate_binding_new(int op, uint32_t target,
	const struct wisp_gate_range *ranges, uint32_t nranges, uint32_t count,
	size_t *sz)
{
	uint8_t data[BINDING_HEADER + RANGE_SIZE * WISP_GATE_RANGES_MAX];
	if (nranges > WISP_GATE_RANGES_MAX)
		nranges = WISP_GATE_RANGES_MAX;
	put_le32(data, target);
	for (uint32_t i = 0; i < nranges; i++) {
		put_le32(data + BINDING_HEADER + RANGE_SIZE * i, ranges[i].lo);
		put_le32(data + BINDING_HEADER + RANGE_SIZE * i + 4, ranges[i].hi);
	}
	return wisp_gate_op_new(op, 0, count, data,
		BINDING_HEADER + RANGE_SIZE * (size_t)nranges, sz);
}

struct wisp_gate_range wisp_gate_binding_range(
	const struct wisp_gate_binding *b, uint32_t i)
{
	const uint8_t *r = b->ranges + (size_t)RANGE_SIZE * i;
	return (struct wisp_gate_range){ get_le32(r), get_le32(r + 4) };
}

int wisp_gate_binding_decode(const struct wisp_gate_op *op,
	struct wisp_gate_binding *out)
{
	if (op->size < BINDING_HEADER
		|| (op->size - BINDING_HEADER) % RANGE_SIZE != 0
		|| (op->size - BINDING_HEADER) / RANGE_SIZE > WISP_GATE_RANGES_MAX)
		return -1;
	out->target = get_le32(op->data);
	out->count = (uint32_t)((op->size - BINDING_HEADER) / RANGE_SIZE);
	out->ranges = op->data + BINDING_HEADER;
	if (op->op == WISP_GATE_BIND && out->target == 0)
		return -1;
	for (uint32_t i = 0; i < out->count; i++) {
		struct wisp_gate_range r = wisp_gate_binding_range(out, i);
		if (r.lo > r.hi)
			return -1;
	}
	return 0;
}

uint8_t *wisp_gate_session_new(const struct wisp_gate_session *s,
	uint32_t count, size_t *sz)
{
	uint8_t data[8 + WISP_GATE_SESSION_MAX];
	size_t size = 0;
	if (s) {
		size = s->size < WISP_GATE_SESSION_MAX ? s->size
			: WISP_GATE_SESSION_MAX;
		put_le64(data, s->uid);
		if (size)
			memcpy(data + 8, s->data, size);
		size += 8;
	}
	return wisp_gate_op_new(WISP_GATE_SESSION, 0, count, data, size, sz);
}

int wisp_gate_session_decode(const struct wisp_gate_op *op,
	struct wisp_gate_session *out)
{
	if (op->size == 0)
		return 0;
	if (op->size < 8 || op->size - 8 > WISP_GATE_SESSION_MAX)
		return -1;
	out->uid = get_le64(op->data);
	out->data = op->data + 8;
	out->size = op->size - 8;
	return 1;
}
