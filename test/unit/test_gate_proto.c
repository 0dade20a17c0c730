/* test_gate_proto.c: the gate messages of GATE.md: the exact bytes of its
 * examples, round trips of the three messages (empty, large, many conns),
 * every truncation of a valid message, and each rejection the spec lists. */
#include <stdint.h>
#include "testlib.h"
#include "wisp.h"
#include "gate.h"

#define LARGE (1024 * 1024 + 3)
#define MANY 10000

static uint8_t large[LARGE];

static void fill_large(void)
{
	for (size_t i = 0; i < LARGE; i++)
		large[i] = (uint8_t)(i * 131 + 7);
}

/* A copy of bytes[0..n) in its own block, so ASan sees reads past it. */
static uint8_t *own(const uint8_t *bytes, size_t n)
{
	uint8_t *p = wisp_malloc(n);
	memcpy(p, bytes, n);
	return p;
}

static int event_decodes(const uint8_t *bytes, size_t n)
{
	uint8_t *msg = own(bytes, n);
	struct wisp_gate_event e;
	int r = wisp_gate_event_decode(msg, n, &e);
	wisp_free(msg);
	return r;
}

static int op_decodes(const uint8_t *bytes, size_t n)
{
	uint8_t *msg = own(bytes, n);
	struct wisp_gate_op op;
	int r = wisp_gate_op_decode(msg, n, &op);
	wisp_free(msg);
	return r;
}

static void test_event_example(void)
{
	static const uint8_t want[] = {
		0x00, 0x03, 0x00, 0x00, 0x00, 0xe9, 0x03, 0x00, 0x00, 0x68, 0x69,
	};
	size_t sz = 0;
	uint8_t *msg = wisp_gate_event_encode(WISP_GATE_FRAME, 3, 1001, "hi", 2,
		&sz);
	CHECK_INT(sz, sizeof want);
	CHECK(memcmp(msg, want, sizeof want) == 0);
	wisp_free(msg);
}

static int answer_decodes(const uint8_t *bytes, size_t n)
{
	uint8_t *msg = own(bytes, n);
	struct wisp_gate_answer a;
	int r = wisp_gate_answer_decode(msg, n, &a);
	wisp_free(msg);
	return r;
}

static void test_answer_example(void)
{
	static const uint8_t reply[] = { 0x01, 0x68, 0x69 }, done[] = { 0x00 };
	size_t sz = 0;
	uint8_t *msg = wisp_gate_answer_encode(WISP_GATE_REPLY, "hi", 2, &sz);
	CHECK_INT(sz, sizeof reply);
	CHECK(memcmp(msg, reply, sizeof reply) == 0);
	wisp_free(msg);
	msg = wisp_gate_answer_encode(WISP_GATE_DONE, NULL, 0, &sz);
	CHECK_INT(sz, sizeof done);
	CHECK(memcmp(msg, done, sizeof done) == 0);
	wisp_free(msg);
}

static void check_answer(int kind, const uint8_t *body, size_t size)
{
	size_t sz = 0;
	uint8_t *msg = wisp_gate_answer_encode(kind, body, size, &sz);
	CHECK_INT(sz, WISP_GATE_ANSWER_HEADER + size);
	struct wisp_gate_answer a;
	CHECK_INT(wisp_gate_answer_decode(msg, sz, &a), 0);
	CHECK_INT(a.kind, kind);
	CHECK_INT(a.size, size);
	CHECK(a.body == msg + WISP_GATE_ANSWER_HEADER);
	CHECK(size == 0 || memcmp(a.body, body, size) == 0);
	wisp_free(msg);
}

static void test_answer_round_trip(void)
{
	check_answer(WISP_GATE_DONE, NULL, 0);
	check_answer(WISP_GATE_REPLY, NULL, 0);
	check_answer(WISP_GATE_REPLY, large, 1);
	check_answer(WISP_GATE_REPLY, large, LARGE);
}

/* Nothing is no answer; a DONE with a body is not one either, however
 * short, and a REPLY cut short is a REPLY with less body. */
static void test_answer_rejects(void)
{
	uint8_t m[] = { WISP_GATE_REPLY, 'o', 'k' };
	CHECK_INT(answer_decodes(m, sizeof m), 0);
	CHECK_INT(answer_decodes(m, 1), 0);
	struct wisp_gate_answer a;
	CHECK_INT(wisp_gate_answer_decode(NULL, 0, &a), -1);
	m[0] = WISP_GATE_DONE;
	CHECK_INT(answer_decodes(m, 1), 0);
	CHECK_INT(answer_decodes(m, 2), -1);
	CHECK_INT(answer_decodes(m, sizeof m), -1);
	for (int kind = WISP_GATE_REPLY + 1; kind < 256; kind++) {
		m[0] = (uint8_t)kind;
		CHECK_INT(answer_decodes(m, sizeof m), -1);
		CHECK_INT(answer_decodes(m, 1), -1);
	}
}

static void test_op_example(void)
{
	static const uint8_t want[] = {
		0x01, 0xe9, 0x03, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00,
		0x03, 0x00, 0x00, 0x00, 0x07, 0x00, 0x00, 0x00, 0x68, 0x69,
	};
	size_t sz = 0;
	uint8_t *msg = wisp_gate_op_new(WISP_GATE_PUSH, 1001, 2, "hi", 2, &sz);
	wisp_gate_op_set_conn(msg, 0, 3);
	wisp_gate_op_set_conn(msg, 1, 7);
	CHECK_INT(sz, sizeof want);
	CHECK(memcmp(msg, want, sizeof want) == 0);
	wisp_free(msg);
}

static void check_event(int kind, uint32_t conn, uint32_t command,
	const uint8_t *data, size_t size)
{
	size_t sz = 0;
	uint8_t *msg = wisp_gate_event_encode(kind, conn, command, data, size,
		&sz);
	CHECK_INT(sz, WISP_GATE_EVENT_HEADER + size);
	struct wisp_gate_event e;
	CHECK_INT(wisp_gate_event_decode(msg, sz, &e), 0);
	CHECK_INT(e.kind, kind);
	CHECK_INT(e.conn, conn);
	CHECK_INT(e.command, command);
	CHECK_INT(e.size, size);
	CHECK(e.data == msg + WISP_GATE_EVENT_HEADER);
	CHECK(size == 0 || memcmp(e.data, data, size) == 0);
	wisp_free(msg);
}

static void test_event_round_trip(void)
{
	static const char addr[] = "127.0.0.1:5555";
	check_event(WISP_GATE_FRAME, 1, 0, NULL, 0);
	check_event(WISP_GATE_FRAME, 0x7fffffff, UINT32_MAX, large, LARGE);
	check_event(WISP_GATE_FRAME, UINT32_MAX, 0x01020304, large, 1);
	check_event(WISP_GATE_OPEN, 42, 0, (const uint8_t *)addr,
		sizeof addr - 1);
	check_event(WISP_GATE_CLOSE, 42, 0, (const uint8_t *)"eof", 3);
	check_event(WISP_GATE_CLOSE, 42, 0, NULL, 0);
}

/* An op to conns first, first + 1, ... (count of them) with data. */
static uint8_t *make_op(int kind, uint32_t command, uint32_t count,
	uint32_t first, const uint8_t *data, size_t size, size_t *sz)
{
	uint8_t *msg = wisp_gate_op_new(kind, command, count, data, size, sz);
	for (uint32_t i = 0; i < count; i++)
		wisp_gate_op_set_conn(msg, i, first + i);
	return msg;
}

static void check_op(int kind, uint32_t command, uint32_t count,
	uint32_t first, const uint8_t *data, size_t size)
{
	size_t sz = 0;
	uint8_t *msg = make_op(kind, command, count, first, data, size, &sz);
	CHECK_INT(sz, WISP_GATE_OP_HEADER + 4 * (size_t)count + size);
	struct wisp_gate_op op;
	CHECK_INT(wisp_gate_op_decode(msg, sz, &op), 0);
	CHECK_INT(op.op, kind);
	CHECK_INT(op.command, command);
	CHECK_INT(op.count, count);
	CHECK(op.conns == msg + WISP_GATE_OP_HEADER);
	int conns_ok = 1;
	for (uint32_t i = 0; i < count && i < op.count; i++)
		conns_ok &= wisp_gate_op_conn(&op, i) == first + i;
	CHECK(conns_ok);
	CHECK(op.data == msg + WISP_GATE_OP_HEADER + 4 * (size_t)count);
	CHECK_INT(op.size, size);
	CHECK(size == 0 || memcmp(op.data, data, size) == 0);
	wisp_free(msg);
}

static void test_op_round_trip(void)
{
	check_op(WISP_GATE_PUSH, 1001, 1, 5, NULL, 0);
	check_op(WISP_GATE_PUSH, 1001, 1, 0x7fffffff, large, 2);
	check_op(WISP_GATE_PUSH, UINT32_MAX, MANY, 1, large, LARGE);
	check_op(WISP_GATE_PUSH, 7, MANY, UINT32_MAX - MANY + 1, NULL, 0);
	check_op(WISP_GATE_BROADCAST, 1002, 0, 0, NULL, 0);
	check_op(WISP_GATE_BROADCAST, 1002, 0, 0, large, LARGE);
	check_op(WISP_GATE_KICK, 0, 1, 9, (const uint8_t *)"banned", 6);
	check_op(WISP_GATE_KICK, 0, 3, 9, NULL, 0);
}

/* Each prefix of a valid event: too short for the header fails; any
 * longer one decodes as the same event with less data. */
static void test_event_truncated(void)
{
	size_t sz;
	uint8_t *full = wisp_gate_event_encode(WISP_GATE_OPEN, 77, 0,
		"10.0.0.1:1", 10, &sz);
	for (size_t n = 0; n < sz; n++) {
		uint8_t *msg = own(full, n);
		struct wisp_gate_event e;
		int r = wisp_gate_event_decode(msg, n, &e);
		CHECK_INT(r, n < WISP_GATE_EVENT_HEADER ? -1 : 0);
		if (r == 0) {
			CHECK_INT(e.kind, WISP_GATE_OPEN);
			CHECK_INT(e.conn, 77);
			CHECK_INT(e.size, n - WISP_GATE_EVENT_HEADER);
			CHECK(e.data == msg + WISP_GATE_EVENT_HEADER);
		}
		wisp_free(msg);
	}
	wisp_free(full);
}

/* Each prefix of a valid op: fails until its ids are all there, then
 * decodes as the same op with less data. */
static void test_op_truncated(void)
{
	size_t sz;
	uint8_t *full = make_op(WISP_GATE_PUSH, 5, 3, 100, (const uint8_t *)"xyz",
		3, &sz);
	size_t ids_end = WISP_GATE_OP_HEADER + 12;
	for (size_t n = 0; n < sz; n++) {
		uint8_t *msg = own(full, n);
		struct wisp_gate_op op;
		int r = wisp_gate_op_decode(msg, n, &op);
		CHECK_INT(r, n < ids_end ? -1 : 0);
		if (r == 0) {
			CHECK_INT(op.count, 3);
			CHECK_INT(wisp_gate_op_conn(&op, 2), 102);
			CHECK_INT(op.size, n - ids_end);
			CHECK(op.data == msg + ids_end);
		}
		wisp_free(msg);
	}
	wisp_free(full);
}

static void test_event_rejects(void)
{
	uint8_t m[] = {WISP_GATE_FRAME, 1, 0, 0, 0, 0, 0, 0, 0, 'x'};
	CHECK_INT(event_decodes(m, sizeof m), 0);
	for (int kind = WISP_GATE_CLOSE + 1; kind < 256; kind++) {
		m[0] = (uint8_t)kind;
		CHECK_INT(event_decodes(m, sizeof m), -1);
	}
	m[0] = WISP_GATE_CLOSE;
	CHECK_INT(event_decodes(m, sizeof m), 0);
	m[1] = 0;
	CHECK_INT(event_decodes(m, sizeof m), -1);
	m[4] = 0x80; /* conn 0x80000000: only 0 is refused */
	CHECK_INT(event_decodes(m, sizeof m), 0);
	struct wisp_gate_event e;
	CHECK_INT(wisp_gate_event_decode(NULL, 0, &e), -1);
}

static void test_op_unknown(void)
{
	uint8_t m[] = {WISP_GATE_PUSH, 0, 0, 0, 0, 1, 0, 0, 0, 5, 0, 0, 0};
	CHECK_INT(op_decodes(m, sizeof m), 0);
	m[0] = WISP_GATE_KICK;
	CHECK_INT(op_decodes(m, sizeof m), 0);
	for (int kind = 0; kind < 256; kind++) {
		if (kind >= WISP_GATE_PUSH && kind <= WISP_GATE_KICK)
			continue;
		m[0] = (uint8_t)kind;
		CHECK_INT(op_decodes(m, sizeof m), -1);
	}
	struct wisp_gate_op op;
	CHECK_INT(wisp_gate_op_decode(NULL, 0, &op), -1);
}

/* A PUSH whose count field says count, with room bytes after the header. */
static int push_with_count(uint32_t count, size_t room)
{
	uint8_t m[WISP_GATE_OP_HEADER + 64] = {WISP_GATE_PUSH};
	m[5] = (uint8_t)count;
	m[6] = (uint8_t)(count >> 8);
	m[7] = (uint8_t)(count >> 16);
	m[8] = (uint8_t)(count >> 24);
	memset(m + WISP_GATE_OP_HEADER, 1, room);
	return op_decodes(m, WISP_GATE_OP_HEADER + room);
}

static void test_op_count(void)
{
	/* 4 * these wraps to 4, 0 and -4 in 32 bits: each looks like it fits */
	CHECK_INT(push_with_count(0x40000001, 8), -1);
	CHECK_INT(push_with_count(0x40000000, 8), -1);
	CHECK_INT(push_with_count(UINT32_MAX, 8), -1);
	CHECK_INT(push_with_count(0x40000001, 64), -1);
	CHECK_INT(push_with_count(3, 11), -1);
	CHECK_INT(push_with_count(3, 12), 0);
	CHECK_INT(push_with_count(3, 13), 0);
	CHECK_INT(push_with_count(16, 64), 0);
	CHECK_INT(push_with_count(17, 64), -1);
}

static void test_op_count_by_kind(void)
{
	size_t sz;
	uint8_t *msg = wisp_gate_op_new(WISP_GATE_PUSH, 1, 0, "hi", 2, &sz);
	CHECK_INT(op_decodes(msg, sz), -1);
	msg[0] = WISP_GATE_KICK;
	CHECK_INT(op_decodes(msg, sz), -1);
	msg[0] = WISP_GATE_BROADCAST;
	CHECK_INT(op_decodes(msg, sz), 0);
	wisp_free(msg);
	msg = make_op(WISP_GATE_BROADCAST, 1, 1, 4, NULL, 0, &sz);
	CHECK_INT(op_decodes(msg, sz), -1);
	msg[0] = WISP_GATE_PUSH;
	CHECK_INT(op_decodes(msg, sz), 0);
	wisp_free(msg);
}

int main(void)
{
	fill_large();
	RUN(test_event_example);
	RUN(test_op_example);
	RUN(test_answer_example);
	RUN(test_event_round_trip);
	RUN(test_answer_round_trip);
	RUN(test_answer_rejects);
	RUN(test_op_round_trip);
	RUN(test_event_truncated);
	RUN(test_op_truncated);
	RUN(test_event_rejects);
	RUN(test_op_unknown);
	RUN(test_op_count);
	RUN(test_op_count_by_kind);
	return TEST_END();
}
