/* fuzz_gate.c: libFuzzer target for the gate messages' decoders. The input
 * is one message, decoded as an event, as an answer and as an op, from a
 * block of exactly its size (so ASan sees any read past it, under replay
 * too). Each decoder must accept exactly what GATE.md's rules, written
 * plainly here, accept; what it accepts must lie inside the input,
 * account for every byte of it, and encode again to the very same bytes. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "wisp.h"
#include "gate.h"

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

/* GATE.md's rules, plainly: 1 when m[0..n) is a well-formed event. */
static int event_ok(const uint8_t *m, size_t n)
{
	return n >= 9 && m[0] <= 2 && le32(m + 1) != 0;
}

/* 1 when m[0..n) is a well-formed op; 64 bits, so no count can wrap. */
static int op_ok(const uint8_t *m, size_t n)
{
	if (n < 9)
		return 0;
	uint32_t count = le32(m + 5);
	if (9 + 4 * (uint64_t)count > n)
		return 0;
	if (m[0] == 1 || m[0] == 3)
		return count != 0;
	return m[0] == 2 && count == 0;
}

static void check_event(const uint8_t *m, size_t n)
{
	struct wisp_gate_event e;
	int r = wisp_gate_event_decode(m, n, &e);
	if (r != (event_ok(m, n) ? 0 : -1))
		die("event: the decoder and the rules disagree");
	if (r < 0)
		return;
	if (e.data != m + 9 || e.size != n - 9)
		die("event: data is not the bytes after the header");
	if (e.kind != m[0] || e.conn != le32(m + 1) || e.command != le32(m + 5))
		die("event: a field is not what the bytes say");
	size_t sz;
	uint8_t *again = wisp_gate_event_encode(e.kind, e.conn, e.command,
		e.data, e.size, &sz);
	if (sz != n || memcmp(again, m, n) != 0)
		die("event: encoding it again gives other bytes");
	wisp_free(again);
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
	wisp_free(again);
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
	wisp_free(again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *m = wisp_malloc(size);
	if (size)
		memcpy(m, data, size);
	check_event(m, size);
	check_answer(m, size);
	check_op(m, size);
	wisp_free(m);
	return 0;
}
