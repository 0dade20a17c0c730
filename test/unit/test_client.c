/* test_client.c: the client frame codec: the exact bytes of CLIENT.md's
 * examples, round trips, streams split anywhere or coalesced (with frames
 * handed out in place), the body limit, every header rejection with its
 * reason, caught at the byte that completes the bad field; peeking at the
 * next frame's command wherever a stream is cut; request ids and error
 * frames. */
#include <stdint.h>
#include <stdlib.h>
#include "testlib.h"
#include "wisp.h"
#include "client.h"

#define MAX_FRAMES 256
#define MAX_BYTES (512 * 1024)

static const struct wisp_client_proto proto = {
	.magic = {'W', 'I', 'S', 'P'},
	.proto_version = 1,
	.server_version = 7,
	.max_body = 4000,
};

/* Frames as built by the encoder, and as handed out by the decoder. */
struct frames {
	int count;
	uint32_t command[MAX_FRAMES];
	uint32_t size[MAX_FRAMES];
	size_t body_at[MAX_FRAMES];       /* offset of the body in bytes[] */
	const uint8_t *where[MAX_FRAMES]; /* the body pointer handed out */
	uint8_t bytes[MAX_BYTES];
	size_t len;
};

static struct frames sent, got;

static void reset(struct frames *s)
{
	s->count = 0;
	s->len = 0;
}

/* Appends a frame whose body bytes follow from its index. */
static void add(struct frames *s, uint32_t command, uint32_t size)
{
	int r = wisp_client_header(&proto, command, size, s->bytes + s->len);
	CHECK_INT(r, 0);
	s->command[s->count] = command;
	s->size[s->count] = size;
	s->len += WISP_CLIENT_HEADER;
	s->body_at[s->count] = s->len;
	for (uint32_t i = 0; i < size; i++)
		s->bytes[s->len++] = (uint8_t)(s->count * 31 + i);
	s->count++;
}

/* A stream with small, empty, and buffer-growing bodies. */
static void build_stream(void)
{
	reset(&sent);
	add(&sent, 1001, 2);
	add(&sent, 0, 0);
	add(&sent, UINT32_MAX, 300);
	add(&sent, 42, 3000);
	add(&sent, 7, 1);
}

static void record(struct frames *s, const struct wisp_client_frame *f)
{
	s->command[s->count] = f->command;
	s->size[s->count] = f->size;
	s->where[s->count] = f->body;
	s->body_at[s->count] = s->len;
	memcpy(s->bytes + s->len, f->body, f->size);
	s->len += f->size;
	s->count++;
}

/* Feeds data[0..n) to d, recording the frames; returns 0 or -1. */
static int feed(struct wisp_client_decoder *d, const uint8_t *data, size_t n)
{
	struct wisp_client_frame f;
	int r;
	while ((r = wisp_client_next(d, &data, &n, &f)) == 1)
		record(&got, &f);
	if (r == 0)
		CHECK_INT(n, 0);
	return r;
}

/* The decoder handed out exactly the frames sent. */
static void check_got(void)
{
	CHECK_INT(got.count, sent.count);
	for (int i = 0; i < got.count && i < sent.count; i++) {
		CHECK_INT(got.command[i], sent.command[i]);
		CHECK_INT(got.size[i], sent.size[i]);
		CHECK(memcmp(got.bytes + got.body_at[i], sent.bytes + sent.body_at[i],
			sent.size[i]) == 0);
	}
}

static void test_example(void)
{
	static const uint8_t want[] = {
		0x57, 0x49, 0x53, 0x50, 0x01, 0x00, 0x00, 0x00, 0x07, 0x00, 0x00,
		0x00, 0x06, 0x00, 0x00, 0x03, 0xe9, 0x68, 0x69,
	};
	uint8_t head[WISP_CLIENT_HEADER];
	CHECK_INT(wisp_client_header(&proto, 1001, 2, head), 0);
	CHECK(memcmp(head, want, sizeof head) == 0);
	size_t sz = 0;
	uint8_t *frame = wisp_client_encode(&proto, 1001, "hi", 2, &sz);
	CHECK_INT(sz, sizeof want);
	CHECK(frame != NULL && memcmp(frame, want, sizeof want) == 0);
	wisp_free(frame);
}

static void test_encode_limit(void)
{
	uint8_t head[WISP_CLIENT_HEADER];
	size_t sz = 0;
	CHECK_INT(wisp_client_header(&proto, 1, proto.max_body, head), 0);
	CHECK_INT(wisp_client_header(&proto, 1, proto.max_body + 1, head), -1);
	CHECK(wisp_client_encode(&proto, 1, head, proto.max_body + 1, &sz) == NULL);
	struct wisp_client_proto huge = proto;
	huge.max_body = UINT32_MAX;
	CHECK_INT(wisp_client_header(&huge, 1, UINT32_MAX - 4, head), 0);
	CHECK_INT(wisp_client_header(&huge, 1, UINT32_MAX - 3, head), -1);
}

static void test_round_trip(void)
{
	static const uint32_t sizes[] = {0, 1, 16, 17, 1023, 1024, 1025, 4000};
	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		uint8_t body[4000];
		for (uint32_t j = 0; j < sizes[i]; j++)
			body[j] = (uint8_t)(j * 7 + i);
		size_t sz;
		uint8_t *frame = wisp_client_encode(&proto, (uint32_t)i * 1000003u,
			body, sizes[i], &sz);
		struct wisp_client_decoder d;
		wisp_client_decoder_init(&d, &proto);
		const uint8_t *p = frame;
		struct wisp_client_frame f;
		CHECK_INT(wisp_client_next(&d, &p, &sz, &f), 1);
		CHECK_INT(f.command, (uint32_t)i * 1000003u);
		CHECK_INT(f.size, sizes[i]);
		CHECK(f.body == frame + WISP_CLIENT_HEADER);
		CHECK(memcmp(f.body, body, sizes[i]) == 0);
		CHECK_INT(sz, 0);
		CHECK_INT(wisp_client_next(&d, &p, &sz, &f), 0);
		char why[WISP_CLIENT_REASON_MAX];
		CHECK(wisp_client_reason(&d, why, sizeof why) == NULL);
		wisp_client_decoder_free(&d);
		wisp_free(frame);
	}
}

static void test_byte_by_byte(void)
{
	build_stream();
	reset(&got);
	struct wisp_client_decoder d;
	wisp_client_decoder_init(&d, &proto);
	for (size_t i = 0; i < sent.len; i++)
		CHECK_INT(feed(&d, sent.bytes + i, 1), 0);
	check_got();
	wisp_client_decoder_free(&d);
}

/* Every pair of cut points, so every header and body boundary is split
 * once, twice, and together with its neighbours'. */
static void test_split_everywhere(void)
{
	reset(&sent);
	add(&sent, 1, 3);
	add(&sent, 2, 0);
	add(&sent, 3, 20);
	for (size_t a = 0; a <= sent.len; a++) {
		for (size_t b = a; b <= sent.len; b++) {
			reset(&got);
			struct wisp_client_decoder d;
			wisp_client_decoder_init(&d, &proto);
			CHECK_INT(feed(&d, sent.bytes, a), 0);
			CHECK_INT(feed(&d, sent.bytes + a, b - a), 0);
			CHECK_INT(feed(&d, sent.bytes + b, sent.len - b), 0);
			check_got();
			wisp_client_decoder_free(&d);
		}
	}
}

static void test_coalesced(void)
{
	reset(&sent);
	for (int i = 0; i < 200; i++)
		add(&sent, (uint32_t)i, (uint32_t)(i % 50));
	reset(&got);
	struct wisp_client_decoder d;
	wisp_client_decoder_init(&d, &proto);
	CHECK_INT(feed(&d, sent.bytes, sent.len), 0);
	check_got();
	for (int i = 0; i < got.count; i++)
		CHECK(got.where[i] == sent.bytes + sent.body_at[i]);
	wisp_client_decoder_free(&d);
}

static void test_empty_body(void)
{
	reset(&sent);
	add(&sent, 5, 0);
	add(&sent, 6, 0);
	for (size_t cut = 0; cut <= sent.len; cut++) {
		reset(&got);
		struct wisp_client_decoder d;
		wisp_client_decoder_init(&d, &proto);
		CHECK_INT(feed(&d, sent.bytes, cut), 0);
		CHECK_INT(feed(&d, sent.bytes + cut, sent.len - cut), 0);
		check_got();
		wisp_client_decoder_free(&d);
	}
}

/* A header announcing body_size, fed alone: how the decoder takes it. */
static int header_alone(uint32_t body_size, size_t n, char *why)
{
	uint8_t head[WISP_CLIENT_HEADER];
	struct wisp_client_proto loose = proto;
	loose.max_body = UINT32_MAX;
	wisp_client_header(&loose, 1, body_size, head);
	struct wisp_client_decoder d;
	wisp_client_decoder_init(&d, &proto);
	reset(&got);
	int r = feed(&d, head, n);
	wisp_client_reason(&d, why, WISP_CLIENT_REASON_MAX);
	wisp_client_decoder_free(&d);
	return r;
}

static void test_max_body(void)
{
	reset(&sent);
	add(&sent, 9, proto.max_body);
	for (size_t cut = 0; cut <= sent.len; cut += 97) {
		reset(&got);
		struct wisp_client_decoder d;
		wisp_client_decoder_init(&d, &proto);
		CHECK_INT(feed(&d, sent.bytes, cut), 0);
		CHECK_INT(feed(&d, sent.bytes + cut, sent.len - cut), 0);
		check_got();
		wisp_client_decoder_free(&d);
	}
	char why[WISP_CLIENT_REASON_MAX] = "";
	CHECK_INT(header_alone(proto.max_body, WISP_CLIENT_HEADER, why), 0);
	CHECK_INT(header_alone(proto.max_body + 1, WISP_CLIENT_HEADER, why), -1);
	CHECK_STR(why, "frame body of 4001 bytes exceeds the limit of 4000");
	/* refused on the length alone, before the command id */
	CHECK_INT(header_alone(proto.max_body + 1, 12, why), 0);
	CHECK_INT(header_alone(20000000, 13, why), -1);
	CHECK_STR(why, "frame body of 20000000 bytes exceeds the limit of 4000");
	CHECK_INT(header_alone(UINT32_MAX - 4, 13, why), -1);
	CHECK_STR(why, "frame body of 4294967291 bytes exceeds the limit of 4000");
	CHECK_INT(got.count, 0);
}

/* Feeds a frame whose byte at is set to value, byte by byte: it must be
 * refused exactly at byte fails_at (counted from 1), with reason want. */
static void check_bad(size_t at, uint8_t value, size_t fails_at,
	const char *want)
{
	uint8_t frame[WISP_CLIENT_HEADER + 4];
	CHECK_INT(wisp_client_header(&proto, 3, 4, frame), 0);
	memset(frame + WISP_CLIENT_HEADER, 'x', 4);
	frame[at] = value;
	struct wisp_client_decoder d;
	wisp_client_decoder_init(&d, &proto);
	reset(&got);
	for (size_t i = 0; i < sizeof frame; i++) {
		int r = feed(&d, frame + i, 1);
		CHECK_INT(r, i + 1 < fails_at ? 0 : -1);
	}
	char why[WISP_CLIENT_REASON_MAX];
	CHECK_STR(wisp_client_reason(&d, why, sizeof why), want);
	CHECK_INT(got.count, 0);
	wisp_client_decoder_free(&d);
}

static void test_bad_headers(void)
{
	check_bad(0, 'G', 4, "bad magic 47 49 53 50");
	check_bad(1, 'E', 4, "bad magic 57 45 53 50");
	check_bad(2, 'T', 4, "bad magic 57 49 54 50");
	check_bad(3, ' ', 4, "bad magic 57 49 53 20");
	check_bad(4, 2, 5, "protocol version 2, want 1");
	check_bad(4, 0, 5, "protocol version 0, want 1");
	check_bad(8, 8, 9, "server version 8, want 7");
	check_bad(5, 1, 9, "server version 16777223, want 7");
	for (uint8_t len = 0; len < 4; len++) {
		char want[WISP_CLIENT_REASON_MAX];
		snprintf(want, sizeof want, "frame length %u, less than the 4 bytes "
			"of its command id", len);
		check_bad(12, len, 13, want);
	}
}

/* The widest numbers fit in WISP_CLIENT_REASON_MAX. */
static void test_longest_reason(void)
{
	struct wisp_client_proto wide = proto;
	wide.max_body = UINT32_MAX - 5;
	uint8_t head[WISP_CLIENT_HEADER];
	memcpy(head, wide.magic, 4);
	head[4] = wide.proto_version;
	memcpy(head + 5, (uint8_t[]){0, 0, 0, 7, 0xff, 0xff, 0xff, 0xff}, 8);
	struct wisp_client_decoder d;
	wisp_client_decoder_init(&d, &wide);
	reset(&got);
	CHECK_INT(feed(&d, head, 13), -1);
	char why[WISP_CLIENT_REASON_MAX];
	CHECK_STR(wisp_client_reason(&d, why, sizeof why),
		"frame body of 4294967291 bytes exceeds the limit of 4294967290");
	wisp_client_decoder_free(&d);
}

static void test_stays_failed(void)
{
	static const uint8_t http[] = "GET / HTTP/1.1\r\n\r\n";
	struct wisp_client_decoder d;
	wisp_client_decoder_init(&d, &proto);
	reset(&got);
	CHECK_INT(feed(&d, http, sizeof http - 1), -1);
	build_stream();
	CHECK_INT(feed(&d, sent.bytes, sent.len), -1);
	CHECK_INT(feed(&d, sent.bytes, 0), -1);
	char why[WISP_CLIENT_REASON_MAX];
	CHECK_STR(wisp_client_reason(&d, why, sizeof why), "bad magic 47 45 54 20");
	CHECK_INT(got.count, 0);
	wisp_client_decoder_free(&d);
}

static int inside(const uint8_t *p, const uint8_t *buf, size_t n)
{
	return p >= buf && p < buf + n;
}

/* Read 1 ends inside A's body; read 2 holds the rest of A, all of B and the
 * start of C's header; read 3 the rest of C. A comes out copied; B and C
 * in place, since only C's header straddles. */
static void test_partial_then_rest(void)
{
	reset(&sent);
	add(&sent, 100, 2000);
	add(&sent, 200, 50);
	add(&sent, 300, 10);
	static uint8_t read1[MAX_BYTES], read2[MAX_BYTES], read3[MAX_BYTES];
	size_t cut1 = WISP_CLIENT_HEADER + 700;
	size_t cut2 = sent.body_at[2] - 10;
	memcpy(read1, sent.bytes, cut1);
	memcpy(read2, sent.bytes + cut1, cut2 - cut1);
	memcpy(read3, sent.bytes + cut2, sent.len - cut2);
	struct wisp_client_decoder d;
	wisp_client_decoder_init(&d, &proto);
	reset(&got);
	CHECK_INT(feed(&d, read1, cut1), 0);
	CHECK_INT(got.count, 0);
	CHECK_INT(feed(&d, read2, cut2 - cut1), 0);
	CHECK_INT(got.count, 2);
	CHECK(!inside(got.where[0], read1, cut1));
	CHECK(!inside(got.where[0], read2, cut2 - cut1));
	CHECK(got.where[1] == read2 + (sent.body_at[1] - cut1));
	CHECK_INT(feed(&d, read3, sent.len - cut2), 0);
	check_got();
	CHECK(got.where[2] == read3 + 10);
	wisp_client_decoder_free(&d);
}

/* What a partial frame costs as its bytes come: nothing for a header
 * alone, whatever its length says; then the buffer grows with the body
 * received, never past the body's length; nothing once it is out. */
static void test_partial_held(void)
{
	reset(&sent);
	add(&sent, 9, 3000);
	add(&sent, 10, 20);
	struct wisp_client_decoder d;
	wisp_client_decoder_init(&d, &proto);
	reset(&got);
	CHECK_INT(feed(&d, sent.bytes, 5), 0);
	CHECK_INT(wisp_client_partial(&d), 5);
	CHECK_INT(wisp_client_held(&d), 0);
	CHECK_INT(feed(&d, sent.bytes + 5, WISP_CLIENT_HEADER - 5), 0);
	CHECK_INT(wisp_client_held(&d), 0);
	CHECK_INT(feed(&d, sent.bytes + WISP_CLIENT_HEADER, 10), 0);
	CHECK_INT(wisp_client_partial(&d), WISP_CLIENT_HEADER + 10);
	CHECK_INT(wisp_client_held(&d), 1024);
	CHECK_INT(feed(&d, sent.bytes + WISP_CLIENT_HEADER + 10, 1500), 0);
	CHECK_INT(wisp_client_held(&d), 2048);
	size_t at = WISP_CLIENT_HEADER + 1510;
	size_t end = sent.body_at[1] - WISP_CLIENT_HEADER; /* of the first */
	CHECK_INT(feed(&d, sent.bytes + at, end - 1 - at), 0);
	CHECK_INT(wisp_client_held(&d), 3000);
	CHECK_INT(feed(&d, sent.bytes + end - 1, 1), 0);
	CHECK_INT(got.count, 1);
	CHECK_INT(wisp_client_partial(&d), 0);
	CHECK_INT(wisp_client_held(&d), 0);
	CHECK_INT(feed(&d, sent.bytes + end, sent.len - end), 0);
	check_got();
	CHECK_INT(wisp_client_partial(&d), 0);
	wisp_client_decoder_free(&d);
}

/* Fed byte by byte, the stream can be peeked at before every byte: with
 * the rest of the stream the next frame's command is known; with nothing
 * more, only once its header is whole in the decoder. Peeking uses no
 * byte. */
static void test_peek(void)
{
	build_stream();
	struct wisp_client_decoder d;
	wisp_client_decoder_init(&d, &proto);
	reset(&got);
	for (size_t i = 0; i < sent.len; i++) {
		uint32_t command = 0;
		int next = got.count;
		size_t start = sent.body_at[next] - WISP_CLIENT_HEADER;
		CHECK_INT(wisp_client_peek(&d, sent.bytes + i, sent.len - i,
			&command), 1);
		CHECK_INT(command, sent.command[next]);
		CHECK_INT(wisp_client_peek(&d, sent.bytes + i, 0, &command),
			i - start >= WISP_CLIENT_HEADER);
		CHECK_INT(feed(&d, sent.bytes + i, 1), 0);
	}
	check_got();
	uint32_t command;
	CHECK_INT(wisp_client_peek(&d, sent.bytes, 5, &command), 0);
	CHECK_INT(wisp_client_peek(&d, (const uint8_t *)"GET / HTTP", 10,
		&command), -1);
	CHECK_INT(wisp_client_peek(&d, (const uint8_t *)"GE", 2, &command), 0);
	CHECK_INT(feed(&d, (const uint8_t *)"GET ", 4), -1);
	CHECK_INT(wisp_client_peek(&d, sent.bytes, sent.len, &command), -1);
	wisp_client_decoder_free(&d);
}

/* CLIENT.md's example of a request id, both ways, and its limits. */
static void test_request_ids(void)
{
	static const uint8_t want[] = {
		0x57, 0x49, 0x53, 0x50, 0x01, 0x00, 0x00, 0x00, 0x07, 0x00, 0x00,
		0x00, 0x0a, 0x00, 0x00, 0x03, 0xe9, 0x00, 0x00, 0x00, 0x07, 0x68,
		0x69,
	};
	uint8_t head[WISP_CLIENT_HEADER + WISP_CLIENT_ID_SIZE];
	CHECK_INT(wisp_client_header_id(&proto, 1001, 7, 2, head), 0);
	CHECK(memcmp(head, want, sizeof head) == 0);
	struct wisp_client_decoder d;
	wisp_client_decoder_init(&d, &proto);
	struct wisp_client_frame f;
	const uint8_t *at = want;
	size_t left = sizeof want;
	CHECK_INT(wisp_client_next(&d, &at, &left, &f), 1);
	CHECK_INT(f.request, 0);
	CHECK_INT(wisp_client_take_id(&f), 0);
	CHECK_INT(f.request, 7);
	CHECK_INT(f.command, 1001);
	CHECK(f.size == 2 && memcmp(f.body, "hi", 2) == 0);
	struct wisp_client_frame short_one = { 5, 3, want, 0 };
	CHECK_INT(wisp_client_take_id(&short_one), -1);
	CHECK(short_one.size == 3 && short_one.body == want);
	CHECK_INT(wisp_client_header_id(&proto, 1, 2, proto.max_body - 4, head),
		0);
	CHECK_INT(wisp_client_header_id(&proto, 1, 2, proto.max_body - 3, head),
		-1);
	CHECK_INT(wisp_client_header_id(&proto, 1, 2, SIZE_MAX, head), -1);
	wisp_client_decoder_free(&d);
}

/* CLIENT.md's error frame, its decoding, a text cut to fit, and bodies
 * too short to be one. */
static void test_error_frames(void)
{
	static const uint8_t want[] = {
		0x57, 0x49, 0x53, 0x50, 0x01, 0x00, 0x00, 0x00, 0x07, 0x00, 0x00,
		0x00, 0x16, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x03, 0xe9, 0x05,
		'h', 'a', 'n', 'd', 'l', 'e', 'r', ' ', 'e', 'r', 'r', 'o', 'r',
	};
	uint8_t body[64];
	size_t n = wisp_client_error_encode(body, sizeof body, 1001,
		WISP_CLIENT_ERR_HANDLER, wisp_client_error_text(WISP_CLIENT_ERR_HANDLER));
	size_t sz = 0;
	uint8_t *frame = wisp_client_encode(&proto, UINT32_MAX, body, n, &sz);
	CHECK_INT(sz, sizeof want);
	CHECK(frame != NULL && memcmp(frame, want, sizeof want) == 0);
	wisp_free(frame);
	struct wisp_client_error e;
	CHECK_INT(wisp_client_error_decode(body, n, &e), 0);
	CHECK_INT(e.command, 1001);
	CHECK_INT(e.code, 5);
	CHECK(e.text_size == 13 && memcmp(e.text, "handler error", 13) == 0);
	CHECK_INT(wisp_client_error_encode(body, 8, 7, 6, "timeout"), 8);
	CHECK(wisp_client_error_decode(body, 8, &e) == 0 && e.command == 7
		&& e.code == 6 && e.text_size == 3 && memcmp(e.text, "tim", 3) == 0);
	CHECK_INT(wisp_client_error_encode(body, 4, 7, 6, "timeout"), 0);
	CHECK_INT(wisp_client_error_decode(body, 4, &e), -1);
	CHECK_INT(wisp_client_error_decode(body, 5, &e), 0);
	CHECK_INT(e.text_size, 0);
	static const char *const texts[] = { "error", "no route", "no service",
		"node down", "overloaded", "handler error", "timeout",
		"service exited", "error" };
	for (int code = 0; code <= 8; code++) {
		const char *text = wisp_client_error_text(code);
		CHECK(strcmp(text, texts[code]) == 0);
		CHECK(strlen(text) <= WISP_CLIENT_ERROR_TEXT_MAX);
	}
	CHECK_STR(wisp_client_error_text(255), "error");
}

static void test_state_size(void)
{
	CHECK(sizeof(struct wisp_client_decoder) <= 40);
}

int main(void)
{
	RUN(test_example);
	RUN(test_encode_limit);
	RUN(test_round_trip);
	RUN(test_byte_by_byte);
	RUN(test_split_everywhere);
	RUN(test_coalesced);
	RUN(test_empty_body);
	RUN(test_max_body);
	RUN(test_bad_headers);
	RUN(test_longest_reason);
	RUN(test_stays_failed);
	RUN(test_partial_then_rest);
	RUN(test_partial_held);
	RUN(test_peek);
	RUN(test_request_ids);
	RUN(test_error_frames);
	RUN(test_state_size);
	return TEST_END();
}
