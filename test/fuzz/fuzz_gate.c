/* fuzz_gate.c: libFuzzer target for the gate messages' decoders. The input
 * is one message, decoded as an event, as an answer and as an op (its data
 * as a binding and a session too), from a block of exactly its size (so
 * ASan sees any read past it, under replay too). Each decoder must accept
 * exactly what GATE.md's rules, written plainly here, accept; what it
 * accepts must lie inside the input, account for every byte of it, and
 * encode again to the very same bytes. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "gate.h"
#include "proto_alloc.h"

static _Noreturn void die(const char *what)
{
	fprintf(stderr, "fuzz_gate: %s\n", what);
	abort();
}

static uint32_t le32(const uint8_t *b)
{
	return b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
		(uint32_t)b[3] << 24;
}

/* GATE.md's rules, plainly: the bytes an event's session takes after the
 * header, 0 when it has none, -1 when it is cut short or too large. */
static long session_len(const uint8_t *m, size_t n)
{
	if (!(m[0] & 0x80))
		return 0;
	if (n < 19)
		return -1;
	size_t size = m[17] | (size_t)m[18] << 8;
	return size <= 1024 && 19 + size <= n ? (long)(10 + size) : -1;
}

/* 1 when m[0..n) is a well-formed event. */
static int event_ok(const uint8_t *m, size_t n)
{
	return n >= 9 && (m[0] & 0x3f) <= 4 && le32(m + 1) != 0
		&& session_len(m, n) >= 0;
}

/* 1 when m[0..n) is a well-formed op; 64 bits, so no count can wrap. */
static int op_ok(const uint8_t *m, size_t n)
{
	if (n < 9)
		return 0;
	uint32_t count = le32(m + 5);
	if (9 + 4 * (uint64_t)count > n)
		return 0;
	if (m[0] == 2)
		return count == 0;
	return m[0] >= 1 && m[0] <= 6 && count != 0;
}

static void check_event(const uint8_t *m, size_t n)
{
	struct wisp_gate_event e;
	int r = wisp_gate_event_decode(m, n, &e);
	if (r != (event_ok(m, n) ? 0 : -1))
		die("event: the decoder and the rules disagree");
	if (r < 0)
		return;
	size_t head = 9 + (size_t)session_len(m, n);
	if (e.data != m + head || e.size != n - head)
		die("event: data is not the bytes after the header and session");
	if (e.kind != (m[0] & 0x3f) || e.bound != ((m[0] & 0x40) != 0)
		|| e.has_session != ((m[0] & 0x80) != 0) || e.conn != le32(m + 1)
		|| e.command != le32(m + 5))
		die("event: a field is not what the bytes say");
	if (e.has_session && (e.session.data != m + 19
		|| e.session.uid != (le32(m + 9) | (uint64_t)le32(m + 13) << 32)))
		die("event: the session is not what the bytes say");
	size_t sz;
	uint8_t *again = wisp_gate_event_encode(&e, &sz);
	if (sz != n || memcmp(again, m, n) != 0)
		die("event: encoding it again gives other bytes");
	wisp_proto_free(again);
}

/* 1 when m[0..n) is a well-formed answer: a DONE alone, or a REPLY with
 * any body. */
static int answer_ok(const uint8_t *m, size_t n)
{
	return (n == 1 && m[0] == 0) || (n >= 1 && m[0] == 1);
}

static void check_answer(const uint8_t *m, size_t n)
{
	struct wisp_gate_answer a;
	int r = wisp_gate_answer_decode(m, n, &a);
	if (r != (answer_ok(m, n) ? 0 : -1))
		die("answer: the decoder and the rules disagree");
	if (r < 0)
		return;
	if (a.kind != m[0] || a.body != m + 1 || a.size != n - 1)
		die("answer: kind and body are not what the bytes say");
	size_t sz;
	uint8_t *again = wisp_gate_answer_encode(a.kind, a.body, a.size, &sz);
	if (sz != n || memcmp(again, m, n) != 0)
		die("answer: encoding it again gives other bytes");
	wisp_proto_free(again);
}

/* A binding's rules, plainly: target and whole ranges, lo <= hi each,
 * 16 at most, and a BIND to someone. */
static int binding_ok(const struct wisp_gate_op *op)
{
	const uint8_t *d = op->data;
	if (op->size < 4 || (op->size - 4) % 8 || (op->size - 4) / 8 > 16
		|| (op->op == 4 && le32(d) == 0))
		return 0;
	for (size_t at = 4; at < op->size; at += 8)
		if (le32(d + at) > le32(d + at + 4))
			return 0;
	return 1;
}

static void check_binding(const struct wisp_gate_op *op)
{
	struct wisp_gate_binding b;
	int r = wisp_gate_binding_decode(op, &b);
	if (r != (binding_ok(op) ? 0 : -1))
		die("binding: the decoder and the rules disagree");
	if (r < 0)
		return;
	if (b.target != le32(op->data) || b.count != (op->size - 4) / 8)
		die("binding: a field is not what the bytes say");
	for (uint32_t i = 0; i < b.count; i++) {
		struct wisp_gate_range g = wisp_gate_binding_range(&b, i);
		if (g.lo != le32(op->data + 4 + 8 * (size_t)i)
			|| g.hi != le32(op->data + 8 + 8 * (size_t)i))
			die("binding: a range is not what the bytes say");
	}
}

/* A SESSION op's data: nothing, or a uid and at most 1024 bytes. */
static void check_session(const struct wisp_gate_op *op)
{
	struct wisp_gate_session s;
	int r = wisp_gate_session_decode(op, &s);
	int want = op->size == 0 ? 0 : op->size >= 8 && op->size - 8 <= 1024
		? 1 : -1;
	if (r != want)
		die("session: the decoder and the rules disagree");
	if (r == 1 && (s.data != op->data + 8 || s.size != op->size - 8))
		die("session: its bytes are not the data after the uid");
}

static void check_op(const uint8_t *m, size_t n)
{
	struct wisp_gate_op op;
	int r = wisp_gate_op_decode(m, n, &op);
	if (r != (op_ok(m, n) ? 0 : -1))
		die("op: the decoder and the rules disagree");
	if (r < 0)
		return;
	size_t ids = 4 * (size_t)op.count;
	if (op.conns != m + 9 || op.data != m + 9 + ids || op.size != n - 9 - ids)
		die("op: conns and data do not tile the input");
	if (op.op != m[0] || op.command != le32(m + 1) || op.count != le32(m + 5))
		die("op: a field is not what the bytes say");
	size_t sz;
	uint8_t *again = wisp_gate_op_new(op.op, op.command, op.count, op.data,
		op.size, &sz);
	for (uint32_t i = 0; i < op.count; i++) {
		uint32_t conn = wisp_gate_op_conn(&op, i);
		if (conn != le32(m + 9 + 4 * (size_t)i))
			die("op: a conn id is not what the bytes say");
		wisp_gate_op_set_conn(again, i, conn);
	}
	if (sz != n || memcmp(again, m, n) != 0)
		die("op: encoding it again gives other bytes");
	wisp_proto_free(again);
	check_binding(&op);
	check_session(&op);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *m = wisp_proto_malloc(size);
	if (size)
		memcpy(m, data, size);
	check_event(m, size);
	check_answer(m, size);
	check_op(m, size);
	wisp_proto_free(m);
	return 0;
}
