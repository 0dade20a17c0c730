/* test_gate_proto.c: the gate messages of GATE.md: the exact bytes of its
 * examples, round trips of the three messages (empty, large, many conns,
 * with sessions), every truncation of a valid message, each rejection the
 * spec lists, and the bindings and sessions some ops carry. */
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
	struct wisp_gate_event e = { .kind = WISP_GATE_FRAME, .conn = 3,
		.command = 1001, .data = (const uint8_t *)"hi", .size = 2 };
	uint8_t *msg = wisp_gate_event_encode(&e, &sz);
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
	struct wisp_gate_event e = { .kind = (uint8_t)kind, .conn = conn,
		.command = command, .data = data, .size = size };
	uint8_t *msg = wisp_gate_event_encode(&e, &sz);
	CHECK_INT(sz, WISP_GATE_EVENT_HEADER + size);
	memset(&e, 0xff, sizeof(e));
	CHECK_INT(wisp_gate_event_decode(msg, sz, &e), 0);
	CHECK_INT(e.kind, kind);
	CHECK_INT(e.bound, 0);
	CHECK_INT(e.has_session, 0);
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
	struct wisp_gate_event open = { .kind = WISP_GATE_OPEN, .conn = 77,
		.data = (const uint8_t *)"10.0.0.1:1", .size = 10 };
	uint8_t *full = wisp_gate_event_encode(&open, &sz);
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
	for (int kind = 0; kind < 256; kind++) {
		m[0] = (uint8_t)kind;
		int known = (kind & WISP_GATE_KIND_MASK) <= WISP_GATE_UNBOUND;
		/* a session flag needs a session, which 'x' is not */
		CHECK_INT(event_decodes(m, sizeof m),
			known && !(kind & WISP_GATE_F_SESSION) ? 0 : -1);
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
		if (kind >= WISP_GATE_PUSH && kind <= WISP_GATE_SESSION
			&& kind != WISP_GATE_BROADCAST)
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


/* GATE.md's example of a bound FRAME with a session. */
static void test_session_event_example(void)
{
	static const uint8_t want[] = {
		0xc0, 0x03, 0x00, 0x00, 0x00, 0xe9, 0x03, 0x00, 0x00,
		0x2a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x61, 0x62,
		0x68, 0x69,
	};
	struct wisp_gate_event e = { .kind = WISP_GATE_FRAME, .bound = 1,
		.has_session = 1, .conn = 3, .command = 1001,
		.session = { 42, (const uint8_t *)"ab", 2 },
		.data = (const uint8_t *)"hi", .size = 2 };
	size_t sz = 0;
	uint8_t *msg = wisp_gate_event_encode(&e, &sz);
	CHECK_INT(sz, sizeof want);
	CHECK(memcmp(msg, want, sizeof want) == 0);
	memset(&e, 0, sizeof(e));
	CHECK_INT(wisp_gate_event_decode(msg, sz, &e), 0);
	CHECK_INT(e.kind, WISP_GATE_FRAME);
	CHECK_INT(e.bound, 1);
	CHECK_INT(e.has_session, 1);
	CHECK_INT(e.session.uid, 42);
	CHECK_INT(e.session.size, 2);
	CHECK(e.session.data == msg + WISP_GATE_EVENT_HEADER
		+ WISP_GATE_SESSION_HEADER);
	CHECK_INT(e.size, 2);
	CHECK(memcmp(e.data, "hi", 2) == 0);
	wisp_free(msg);
}

/* Sessions of every kind and size up to the limit; one past it is not
 * decoded. */
static void test_session_event_round_trip(void)
{
	size_t sizes[] = { 0, 1, WISP_GATE_SESSION_MAX };
	for (int kind = WISP_GATE_FRAME; kind <= WISP_GATE_UNBOUND; kind++)
		for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
			struct wisp_gate_event e = { .kind = (uint8_t)kind,
				.has_session = 1, .conn = 9, .command = 7,
				.session = { UINT64_MAX - i, large, sizes[i] },
				.data = large, .size = 5 };
			size_t sz;
			uint8_t *msg = wisp_gate_event_encode(&e, &sz);
			struct wisp_gate_event d;
			CHECK_INT(wisp_gate_event_decode(msg, sz, &d), 0);
			CHECK_INT(d.kind, kind);
			CHECK(d.session.uid == UINT64_MAX - i);
			CHECK_INT(d.session.size, sizes[i]);
			CHECK(sizes[i] == 0 || memcmp(d.session.data, large,
				sizes[i]) == 0);
			CHECK_INT(d.size, 5);
			CHECK(memcmp(d.data, large, 5) == 0);
			wisp_free(msg);
		}
	uint8_t m[WISP_GATE_EVENT_HEADER + WISP_GATE_SESSION_HEADER
		+ WISP_GATE_SESSION_MAX + 1] = { WISP_GATE_F_SESSION, 1 };
	size_t over = WISP_GATE_SESSION_MAX + 1;
	m[WISP_GATE_EVENT_HEADER + 8] = (uint8_t)over;
	m[WISP_GATE_EVENT_HEADER + 9] = (uint8_t)(over >> 8);
	CHECK_INT(event_decodes(m, sizeof m), -1);
}

/* Each prefix of an event with a session: too short until its session is
 * whole, then the same event with less data. */
static void test_session_event_truncated(void)
{
	struct wisp_gate_event e = { .kind = WISP_GATE_CLOSE, .has_session = 1,
		.conn = 5, .session = { 7, (const uint8_t *)"abc", 3 },
		.data = (const uint8_t *)"eof", .size = 3 };
	size_t sz;
	uint8_t *full = wisp_gate_event_encode(&e, &sz);
	size_t head = WISP_GATE_EVENT_HEADER + WISP_GATE_SESSION_HEADER + 3;
	for (size_t n = 0; n < sz; n++) {
		struct wisp_gate_event d;
		uint8_t *msg = own(full, n);
		int r = wisp_gate_event_decode(msg, n, &d);
		CHECK_INT(r, n < head ? -1 : 0);
		if (r == 0)
			CHECK_INT(d.size, n - head);
		wisp_free(msg);
	}
	wisp_free(full);
}

/* GATE.md's BIND example, decoded back. */
static void test_binding_example(void)
{
	static const uint8_t want[] = {
		0x04, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
		0x03, 0x00, 0x00, 0x00, 0x05, 0x00, 0xc0, 0x00,
		0xe8, 0x03, 0x00, 0x00, 0xcf, 0x07, 0x00, 0x00,
		0xd1, 0x07, 0x00, 0x00, 0xd1, 0x07, 0x00, 0x00,
	};
	struct wisp_gate_range r[] = { { 1000, 1999 }, { 2001, 2001 } };
	size_t sz = 0;
	uint8_t *msg = wisp_gate_binding_new(WISP_GATE_BIND, 0x00c00005, r, 2, 1,
		&sz);
	wisp_gate_op_set_conn(msg, 0, 3);
	CHECK_INT(sz, sizeof want);
	CHECK(memcmp(msg, want, sizeof want) == 0);
	struct wisp_gate_op op;
	struct wisp_gate_binding b;
	CHECK_INT(wisp_gate_op_decode(msg, sz, &op), 0);
	CHECK_INT(wisp_gate_binding_decode(&op, &b), 0);
	CHECK_INT(b.target, 0x00c00005);
	CHECK_INT(b.count, 2);
	CHECK_INT(wisp_gate_binding_range(&b, 1).lo, 2001);
	CHECK_INT(wisp_gate_binding_range(&b, 0).hi, 1999);
	wisp_free(msg);
}

/* A binding op to one conn whose data is data[0..size). */
static int binding_decodes(int kind, const uint8_t *data, size_t size)
{
	size_t sz;
	uint8_t *msg = wisp_gate_op_new(kind, 0, 1, data, size, &sz);
	wisp_gate_op_set_conn(msg, 0, 1);
	struct wisp_gate_op op;
	struct wisp_gate_binding b;
	int r = wisp_gate_op_decode(msg, sz, &op) < 0 ? -2
		: wisp_gate_binding_decode(&op, &b);
	wisp_free(msg);
	return r;
}

static void test_binding_rejects(void)
{
	uint8_t d[4 + 8 * (WISP_GATE_RANGES_MAX + 1)];
	memset(d, 0, sizeof d);
	d[0] = 5; /* target 5, then ranges 0..0 */
	CHECK_INT(binding_decodes(WISP_GATE_BIND, d, 4), 0);
	CHECK_INT(binding_decodes(WISP_GATE_BIND, d, 3), -1);
	CHECK_INT(binding_decodes(WISP_GATE_BIND, d, 4 + 7), -1);
	CHECK_INT(binding_decodes(WISP_GATE_BIND, d, 4 + 8), 0);
	CHECK_INT(binding_decodes(WISP_GATE_BIND, d, 4 + 8 * WISP_GATE_RANGES_MAX),
		0);
	CHECK_INT(binding_decodes(WISP_GATE_BIND, d, sizeof d), -1);
	d[4] = 2; /* lo 2 > hi 0 */
	CHECK_INT(binding_decodes(WISP_GATE_BIND, d, 4 + 8), -1);
	d[8] = 2;
	CHECK_INT(binding_decodes(WISP_GATE_UNBIND, d, 4 + 8), 0);
	d[0] = 0; /* an UNBIND of anything; a BIND to nobody */
	CHECK_INT(binding_decodes(WISP_GATE_UNBIND, d, 4 + 8), 0);
	CHECK_INT(binding_decodes(WISP_GATE_BIND, d, 4 + 8), -1);
	CHECK_INT(binding_decodes(WISP_GATE_UNBIND, d, 0), -1);
}

/* GATE.md's SESSION example; dropping a session; the limits. */
static void test_session_op(void)
{
	static const uint8_t want[] = {
		0x06, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
		0x03, 0x00, 0x00, 0x00,
		0x2a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x61, 0x62,
	};
	struct wisp_gate_session s = { 42, (const uint8_t *)"ab", 2 };
	size_t sz;
	uint8_t *msg = wisp_gate_session_new(&s, 1, &sz);
	wisp_gate_op_set_conn(msg, 0, 3);
	CHECK_INT(sz, sizeof want);
	CHECK(memcmp(msg, want, sizeof want) == 0);
	struct wisp_gate_op op;
	struct wisp_gate_session d;
	CHECK_INT(wisp_gate_op_decode(msg, sz, &op), 0);
	CHECK_INT(wisp_gate_session_decode(&op, &d), 1);
	CHECK_INT(d.uid, 42);
	CHECK_INT(d.size, 2);
	wisp_free(msg);
	msg = wisp_gate_session_new(NULL, 1, &sz);
	CHECK_INT(sz, WISP_GATE_OP_HEADER + 4);
	CHECK_INT(wisp_gate_op_decode(msg, sz, &op), 0);
	CHECK_INT(wisp_gate_session_decode(&op, &d), 0);
	wisp_free(msg);
	uint8_t data[8 + WISP_GATE_SESSION_MAX + 1] = { 0 };
	size_t sizes[] = { 7, 8, 8 + WISP_GATE_SESSION_MAX, sizeof data };
	int want_r[] = { -1, 1, 1, -1 };
	for (int i = 0; i < 4; i++) {
		msg = wisp_gate_op_new(WISP_GATE_SESSION, 0, 1, data, sizes[i], &sz);
		CHECK_INT(wisp_gate_op_decode(msg, sz, &op), 0);
		CHECK_INT(wisp_gate_session_decode(&op, &d), want_r[i]);
		wisp_free(msg);
	}
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
	RUN(test_session_event_example);
	RUN(test_session_event_round_trip);
	RUN(test_session_event_truncated);
	RUN(test_binding_example);
	RUN(test_binding_rejects);
	RUN(test_session_op);
	return TEST_END();
}
