/* test_gate.c: the gate of a net node, over real TCP: two wisp processes
 * (test/gate/gate.lua with front.lua behind its gate, and
 * test/gate/limits.lua with small limits) and clients of the client
 * library. Frames however they are split or joined, every bad header,
 * handler errors, connect and disconnect events, kick, push, multicast and
 * broadcast, a client that does not read, the connection, idle and rate
 * limits, 10,000 clients on one node, and a broadcast to 2,000 that
 * neither holds up another client nor is overtaken by a later push. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>
#include "client.h"
#include "gate_harness.h"
#include "proc.h"
#include "testlib.h"
#include "wisp_client.h"

/* Client commands, as test/gate/front.lua numbers them. */
enum { ECHO = 1, WHOAMI, STATUS, FAIL, KICK, JOIN, PUSH, MULTICAST,
	BROADCAST, FLOOD, COUNTS, BROADCAST_PUSH };
/* Frames front.lua sends unasked. */
enum { FAREWELL = 50, TO_ONE = 60, TO_SOME = 61, TO_ALL = 62,
	FLOODED = 70 };
#define UNROUTED 500    /* in no route of gate.commands */

#define WAIT_MS 10000   /* the bound on any one wait for the nodes */
#define START_MS 30000  /* for a node to start, under the sanitizers too */
#define MAX_BODY 4096   /* gate.max_body in gate.lua */
#define MANY 10000      /* clients held at once */
#define MANY_FDS 10300  /* what they need here, with some to spare */

/* As gate.lua and limits.lua configure the gate. */
static const struct wisp_client_proto proto = {
	{ 'G', 'A', 'M', 'E' }, 3, 7, MAX_BODY,
};

enum { MAIN, LIMITS };
static struct proc procs[2];
static int ports[2];
static int many_skipped;

/* ---- clients ---- */

static struct wisp_cli *connect_to(int node)
{
	return gate_connect(&proto, ports[node], WAIT_MS);
}

/* The next frame must be command with this body. */
static void expect_frame_sized(struct wisp_cli *c, uint32_t command,
	const void *body, size_t size)
{
	CHECK_INT(gate_expect(c, command, body, size, WAIT_MS), 0);
}

static void expect_frame(struct wisp_cli *c, uint32_t command,
	const char *body)
{
	expect_frame_sized(c, command, body, strlen(body));
}

static void send_frame(struct wisp_cli *c, uint32_t command, const char *body)
{
	CHECK_INT(gate_send(c, command, body, WAIT_MS), 0);
}

static void echo(struct wisp_cli *c, const char *text)
{
	CHECK_INT(gate_echo(c, ECHO, text, WAIT_MS), 0);
}

/* Sends command with body and copies the reply's body into out; 0 when
 * a reply of that command came. */
static int ask(struct wisp_cli *c, uint32_t command, const char *body,
	char *out, size_t n)
{
	return gate_ask(c, command, body, out, n, WAIT_MS);
}

/* The client's conn, as services see it (WHOAMI answers "CONN ADDR"). */
static long long whoami(struct wisp_cli *c)
{
	char answer[128], want[64];
	long long conn = 0;
	ask(c, WHOAMI, "", answer, sizeof answer);
	snprintf(want, sizeof want, " 127.0.0.1:%d", gate_cli_port(c));
	CHECK(sscanf(answer, "%lld", &conn) == 1 && conn > 0);
	CHECK(strstr(answer, want) != NULL); /* the address of the connect */
	return conn;
}

/* Asks front, through c, until it says conn is in state (its STATUS
 * answer); 1 when it did within the bound. */
static int wait_status(struct wisp_cli *c, long long conn, const char *state)
{
	char body[32], answer[256];
	long long deadline = proc_now_ms() + WAIT_MS;
	snprintf(body, sizeof body, "%lld", conn);
	for (;;) {
		if (ask(c, STATUS, body, answer, sizeof answer) < 0)
			return 0;
		if (strcmp(answer, state) == 0)
			return 1;
		if (proc_now_ms() > deadline) {
			fprintf(stderr, "  conn %lld is \"%s\", want \"%s\"\n", conn,
				answer, state);
			return 0;
		}
		proc_sleep_ms(10);
	}
}

/* A whole frame in buf, for writing as the test pleases; its size. */
static size_t build_frame(uint8_t *buf, uint32_t command, const void *body,
	size_t size)
{
	wisp_client_header(&proto, command, size, buf);
	memcpy(buf + WISP_CLIENT_HEADER, body, size);
	return WISP_CLIENT_HEADER + size;
}

/* Writes to the client's non-blocking socket, waiting when it is full. */
static void write_raw(int fd, const void *data, size_t n)
{
	const char *p = data;
	long long deadline = proc_now_ms() + WAIT_MS;
	while (n > 0 && proc_now_ms() < deadline) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w > 0) {
			p += w;
			n -= (size_t)w;
		} else if (w < 0 && errno == EAGAIN) {
			struct pollfd pfd = { fd, POLLOUT, 0 };
			poll(&pfd, 1, 100);
		} else if (errno != EINTR)
			break;
	}
	CHECK_INT(n, 0);
}

/* ---- 1 to 3: frames however they come ---- */

static void echo_through_lua(void)
{
	struct wisp_cli *c = connect_to(MAIN);
	echo(c, "hello, gate");
	echo(c, "");
	char *big = malloc(MAX_BODY);
	for (int i = 0; i < MAX_BODY; i++)
		big[i] = (char)('a' + i % 26);
	CHECK_INT(wisp_cli_send(c, ECHO, big, MAX_BODY, WAIT_MS), 0);
	expect_frame_sized(c, ECHO, big, MAX_BODY); /* the largest body */
	free(big);
	wisp_cli_free(c);
}

/* One frame a byte a write; then two frames cut in three writes: the
 * first's tail with the second's head, a write ending inside the second's
 * body, and its rest. */
static void split_frames(void)
{
	struct wisp_cli *c = connect_to(MAIN);
	int fd = wisp_cli_fd(c);
	uint8_t frame[64];
	size_t n = build_frame(frame, ECHO, "byte by byte", 12);
	for (size_t i = 0; i < n; i++) {
		write_raw(fd, frame + i, 1);
		proc_sleep_ms(1);
	}
	expect_frame(c, ECHO, "byte by byte");

	char body[3000];
	for (size_t i = 0; i < sizeof body; i++)
		body[i] = (char)('A' + i % 23);
	uint8_t two[3100];
	size_t first = build_frame(two, ECHO, "first", 5);
	size_t total = first + build_frame(two + first, ECHO, body, sizeof body);
	size_t cuts[] = { 0, first - 3, first + 8, first + 1500, total };
	for (int i = 0; i < 4; i++) {
		write_raw(fd, two + cuts[i], cuts[i + 1] - cuts[i]);
		proc_sleep_ms(20);
	}
	expect_frame(c, ECHO, "first");
	expect_frame_sized(c, ECHO, body, sizeof body);
	wisp_cli_free(c);
}

static void coalesced_frames(void)
{
	struct wisp_cli *c = connect_to(MAIN);
	char text[32];
	for (int i = 0; i < 200; i++) {
		snprintf(text, sizeof text, "frame %03d", i);
		CHECK_INT(wisp_cli_queue(c, ECHO, text, strlen(text)), 0);
	}
	CHECK_INT(wisp_cli_flush(c), 1); /* all 200 in one write */
	for (int i = 0; i < 200; i++) {
		snprintf(text, sizeof text, "frame %03d", i);
		expect_frame(c, ECHO, text);
	}
	wisp_cli_free(c);
}

/* ---- 4 and 5: what closes a client, and what does not ---- */

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* A header with the fields given, and a few bytes after it. */
static size_t bad_header(uint8_t *buf, const char *magic, uint8_t version,
	uint32_t server, uint32_t length)
{
	memcpy(buf, magic, 4);
	buf[4] = version;
	put32(buf + 5, server);
	put32(buf + 9, length);
	put32(buf + 13, ECHO);
	memcpy(buf + 17, "body", 4);
	return 21;
}

/* Sends bytes on a connection of its own: the gate closes it, logging
 * reason; the observer is answered as before. */
static void rejected(struct wisp_cli *observer, const void *bytes, size_t n,
	const char *reason)
{
	struct wisp_cli *c = connect_to(MAIN);
	char tag[64], text[160];
	gate_client_tag(tag, sizeof tag, gate_cli_port(c));
	write_raw(wisp_cli_fd(c), bytes, n);
	CHECK(gate_closed_by_server(c, WAIT_MS));
	CHECK(proc_wait_log(&procs[MAIN], tag, reason, WAIT_MS));
	if (!proc_log_has(&procs[MAIN], tag, reason))
		fprintf(stderr, "  no log line \"%s... closed: %s\"\n", tag, reason);
	wisp_cli_free(c);
	snprintf(text, sizeof text, "still here after %s", reason);
	echo(observer, text);
}

static void bad_headers(void)
{
	struct wisp_cli *observer = connect_to(MAIN);
	uint8_t h[32];
	echo(observer, "before");
	const char *http = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
	rejected(observer, http, strlen(http), "closed: bad magic 47 45 54 20");
	rejected(observer, h, bad_header(h, "GAME", 2, 7, 8),
		"closed: protocol version 2, want 3");
	rejected(observer, h, bad_header(h, "GAME", 3, 8, 8),
		"closed: server version 8, want 7");
	rejected(observer, h, bad_header(h, "GAME", 3, 7, 3),
		"closed: frame length 3, less than the 4 bytes of its command id");
	rejected(observer, h, bad_header(h, "GAME", 3, 7, MAX_BODY + 5),
		"closed: frame body of 4097 bytes exceeds the limit of 4096");
	wisp_cli_free(observer);
}

/* The next frame must be the gate's error frame (gate.error_command by
 * default) saying that command failed with code. */
static void expect_error(struct wisp_cli *c, uint32_t command, int code)
{
	uint8_t body[WISP_CLIENT_ERROR_HEAD + WISP_CLIENT_ERROR_TEXT_MAX];
	size_t n = wisp_client_error_encode(body, sizeof body, command,
		(uint8_t)code, wisp_client_error_text(code));
	CHECK_INT(gate_expect(c, UINT32_MAX, body, n, WAIT_MS), 0);
}

/* A failing handler costs its frame only, which the client is told of;
 * a frame no route takes too. */
static void handler_error(void)
{
	struct wisp_cli *c = connect_to(MAIN);
	char tag[64];
	send_frame(c, FAIL, "boom");
	expect_error(c, FAIL, WISP_CLIENT_ERR_HANDLER);
	echo(c, "after the error");
	CHECK(proc_wait_log(&procs[MAIN], "front failed on purpose: boom", "",
		WAIT_MS));
	send_frame(c, UNROUTED, "lost");
	expect_error(c, UNROUTED, WISP_CLIENT_ERR_NO_ROUTE);
	echo(c, "after the unrouted frame");
	snprintf(tag, sizeof tag, "from client 127.0.0.1:%d ",
		gate_cli_port(c));
	CHECK(proc_wait_log(&procs[MAIN], "command 500 ", tag, WAIT_MS));
	CHECK(proc_log_has(&procs[MAIN], tag, "no route in gate.commands"));
	wisp_cli_free(c);
}

/* ---- 6 to 8: events, kick, frames from services ---- */

static void counts(struct wisp_cli *c, int *connects, int *disconnects)
{
	char answer[128];
	ask(c, COUNTS, "", answer, sizeof answer);
	if (sscanf(answer, "connects %d disconnects %d", connects,
		disconnects) != 2)
		*connects = *disconnects = -1;
}

/* Asks front until it counts open clients connected (clients closed
 * earlier may not be counted yet); its counts in *connects and
 * *disconnects. 1 when it did within the bound. */
static int wait_open(struct wisp_cli *c, int open, int *connects,
	int *disconnects)
{
	long long deadline = proc_now_ms() + 3 * WAIT_MS;
	for (;;) {
		counts(c, connects, disconnects);
		if (*connects - *disconnects == open && *connects >= 0)
			return 1;
		if (proc_now_ms() > deadline) {
			fprintf(stderr, "  %d connects, %d disconnects: want %d open\n",
				*connects, *disconnects, open);
			return 0;
		}
		proc_sleep_ms(20);
	}
}

/* x connects and leaves, y connects and leaves: front hears of each,
 * with x's address and the reason it left. */
static void connect_events(void)
{
	struct wisp_cli *observer = connect_to(MAIN), *x = connect_to(MAIN);
	int c0, d0, c1, d1;
	char open[64];
	long long conn = whoami(x);
	CHECK(wait_open(observer, 2, &c0, &d0));
	snprintf(open, sizeof open, "open 127.0.0.1:%d", gate_cli_port(x));
	CHECK(wait_status(observer, conn, open));
	wisp_cli_free(x);
	CHECK(wait_status(observer, conn, "closed closed by the client"));
	struct wisp_cli *y = connect_to(MAIN);
	echo(y, "one more");
	wisp_cli_free(y);
	CHECK(wait_open(observer, 1, &c1, &d1));
	CHECK_INT(c1, c0 + 1);
	CHECK_INT(d1, d0 + 2);
	wisp_cli_free(observer);
}

/* What was pushed before the kick arrives, then the end; the events
 * service hears the reason. */
static void kick_after_push(void)
{
	struct wisp_cli *observer = connect_to(MAIN), *c = connect_to(MAIN);
	char tag[64];
	gate_client_tag(tag, sizeof tag, gate_cli_port(c));
	long long conn = whoami(c);
	send_frame(c, KICK, "bye");
	expect_frame(c, FAREWELL, "farewell bye");
	CHECK(gate_closed_by_server(c, WAIT_MS));
	CHECK(wait_status(observer, conn, "closed kicked: bye"));
	CHECK(proc_wait_log(&procs[MAIN], tag, "kicked: bye", WAIT_MS));
	wisp_cli_free(c);
	wisp_cli_free(observer);
}

/* a, b, c and d join; a pushes to b, multicasts to a and c, d
 * broadcasts. Then each echoes: the echo must come right after the
 * frames meant for it, and only those. */
static void push_multicast_broadcast(void)
{
	struct wisp_cli *cl[4];
	char name[2] = "a", joined[16];
	for (int i = 0; i < 4; i++) {
		cl[i] = connect_to(MAIN);
		name[0] = (char)('a' + i);
		snprintf(joined, sizeof joined, "joined %s", name);
		send_frame(cl[i], JOIN, name);
		expect_frame(cl[i], JOIN, joined);
	}
	send_frame(cl[0], PUSH, "b to b only");
	expect_frame(cl[0], PUSH, "pushed");
	send_frame(cl[0], MULTICAST, "a,c to a and c");
	expect_frame(cl[0], TO_SOME, "to a and c");
	expect_frame(cl[0], MULTICAST, "multicast");
	send_frame(cl[3], BROADCAST, "to all");
	expect_frame(cl[3], TO_ALL, "to all");
	expect_frame(cl[3], BROADCAST, "broadcast to 1 gate");

	expect_frame(cl[1], TO_ONE, "to b only");
	expect_frame(cl[2], TO_SOME, "to a and c");
	for (int i = 0; i < 3; i++)
		expect_frame(cl[i], TO_ALL, "to all");
	for (int i = 0; i < 4; i++) {
		snprintf(joined, sizeof joined, "%c: nothing else", 'a' + i);
		echo(cl[i], joined);
		wisp_cli_free(cl[i]);
	}
}

/* ---- 9: a client that does not read ---- */

/* A blocking socket with a small receive buffer, connected to the main
 * node. */
static int slow_socket(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	int fd = socket(AF_INET, SOCK_STREAM, 0), small = 4096;
	a.sin_port = htons((uint16_t)ports[MAIN]);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
	CHECK_INT(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
	return fd;
}

/* Reads what the gate sent the slow client, to the end: its frames must
 * be the flood's, in order, and fewer than all of them. The count, or -1
 * when the connection did not end in time. */
static int drain_flood(int fd, int flooded)
{
	static uint8_t buf[65536];
	struct wisp_client_decoder dec;
	struct wisp_client_frame f;
	long long deadline = proc_now_ms() + WAIT_MS;
	int frames = 0, in_order = 1;
	ssize_t n = 1;
	wisp_client_decoder_init(&dec, &proto);
	while (n > 0 && proc_now_ms() < deadline) {
		struct pollfd pfd = { fd, POLLIN, 0 };
		if (poll(&pfd, 1, 100) <= 0 || (n = read(fd, buf, sizeof buf)) <= 0)
			continue;
		const uint8_t *at = buf;
		size_t left = (size_t)n;
		while (wisp_client_next(&dec, &at, &left, &f) == 1)
			in_order &= f.command == FLOODED && f.size == MAX_BODY
				&& atoi((const char *)f.body) == ++frames;
	}
	wisp_client_decoder_free(&dec);
	CHECK(in_order);
	CHECK(frames < flooded);
	return n > 0 ? -1 : frames;
}

/* The slow client asks for far more than gate.output_limit and the
 * socket buffers hold (32 MB), and reads none of it; a fast client keeps
 * echoing until the gate drops the slow one, and after. */
static void slow_reader(void)
{
	enum { FLOOD_FRAMES = 8000 };
	struct wisp_cli *fast = connect_to(MAIN);
	int fd = slow_socket();
	char tag[64], body[32];
	uint8_t frame[64];
	gate_client_tag(tag, sizeof tag, tcp_local_port(fd));
	long long gate = whoami(fast) >> 32 << 32;
	snprintf(body, sizeof body, "%d %d", FLOOD_FRAMES, MAX_BODY);
	CHECK_INT(tcp_write_all(fd, frame, build_frame(frame, FLOOD, body,
		strlen(body))), 0);

	const char *dropped = "dropped: it does not read, and gate.output_limit "
		"(262144 bytes) is full";
	long long deadline = proc_now_ms() + 3 * WAIT_MS;
	int echoes = 0, seen;
	do {
		snprintf(body, sizeof body, "during the flood %d", echoes++);
		echo(fast, body);
	} while (!(seen = proc_log_has(&procs[MAIN], tag, dropped))
		&& proc_now_ms() < deadline);
	CHECK(seen);
	echo(fast, "after the drop");

	int conn = 0;
	char *out = proc_output(&procs[MAIN], 0), *at = strstr(out, tag);
	CHECK(at && sscanf(at + strlen(tag), "(conn %d)", &conn) == 1);
	free(out);
	CHECK(wait_status(fast, gate | conn,
		"closed not reading: gate.output_limit reached"));
	CHECK(drain_flood(fd, FLOOD_FRAMES) >= 0);
	close(fd);
	wisp_cli_free(fast);
}

/* ---- 10: the limits node ---- */

/* Three clients are served, a fourth is refused at once. */
static void max_connections(void)
{
	struct wisp_cli *c[3];
	char tag[64], text[32];
	for (int i = 0; i < 3; i++) {
		c[i] = connect_to(LIMITS);
		snprintf(text, sizeof text, "client %d of 3", i);
		echo(c[i], text);
	}
	struct wisp_cli *extra = connect_to(LIMITS);
	snprintf(tag, sizeof tag, "refused client 127.0.0.1:%d:",
		gate_cli_port(extra));
	CHECK(gate_closed_by_server(extra, WAIT_MS));
	CHECK(proc_wait_log(&procs[LIMITS], tag,
		"gate.max_connections (3) reached", WAIT_MS));
	for (int i = 0; i < 3; i++) {
		echo(c[i], "still served");
		wisp_cli_free(c[i]);
	}
	wisp_cli_free(extra);
	/* the refused one never reached the events service */
	CHECK_INT(proc_log_count(&procs[LIMITS], "front: connect"), 3);
	CHECK(proc_wait_log_count(&procs[LIMITS], "front: disconnect", 3,
		WAIT_MS));
}

/* A silent client is closed after gate.idle_timeout (400 ms), not
 * before; one that sends every 100 ms stays. */
static void idle_timeout(void)
{
	long long start = proc_now_ms(), closed_at = 0;
	struct wisp_cli *idle = connect_to(LIMITS), *chatty = connect_to(LIMITS);
	struct wisp_client_frame f;
	char tag[64], text[32];
	int rounds = 0;
	while ((closed_at == 0 || rounds < 12)
		&& proc_now_ms() < start + WAIT_MS) {
		snprintf(text, sizeof text, "round %d", rounds++);
		echo(chatty, text);
		if (closed_at == 0 && wisp_cli_recv(idle, &f, 0) < 0)
			closed_at = proc_now_ms();
		proc_sleep_ms(100);
	}
	CHECK(closed_at != 0);
	CHECK(closed_at - start >= 300); /* not long before its time */
	gate_client_tag(tag, sizeof tag, gate_cli_port(idle));
	CHECK(proc_wait_log(&procs[LIMITS], tag, "closed: silent for "
		"gate.idle_timeout (400 ms)", WAIT_MS));
	gate_client_tag(tag, sizeof tag, gate_cli_port(chatty));
	CHECK(!proc_log_has(&procs[LIMITS], tag, "closed"));
	echo(chatty, "still here");
	wisp_cli_free(idle);
	wisp_cli_free(chatty);
	CHECK(proc_wait_log_count(&procs[LIMITS], "front: disconnect", 5,
		WAIT_MS));
}

/* 200 frames at once against a burst of 20: closed; a client at 20
 * frames/s goes on. */
static void rate_limit(void)
{
	struct wisp_cli *polite = connect_to(LIMITS), *blaster = connect_to(LIMITS);
	struct wisp_client_frame f;
	char tag[64], text[32];
	echo(polite, "first");
	for (int i = 0; i < 200; i++)
		CHECK_INT(wisp_cli_queue(blaster, ECHO, "fast", 4), 0);
	CHECK_INT(wisp_cli_flush(blaster), 1);
	int r, frames = 0;
	while ((r = wisp_cli_recv(blaster, &f, WAIT_MS)) == 1)
		frames++;
	CHECK_INT(r, -1); /* closed, not timed out */
	CHECK(frames <= 20);
	gate_client_tag(tag, sizeof tag, gate_cli_port(blaster));
	CHECK(proc_wait_log(&procs[LIMITS], tag, "closed: more than "
		"gate.rate_limit (100 frames/s)", WAIT_MS));
	for (int i = 0; i < 10; i++) {
		snprintf(text, sizeof text, "polite %d", i);
		echo(polite, text);
		proc_sleep_ms(50);
	}
	wisp_cli_free(blaster);
	wisp_cli_free(polite);
}

/* ---- 11: 10,000 clients on epoll ---- */

enum { CONNECTING, OPEN, ANSWERED, FAILED };

struct crowd {
	struct wisp_cli *cli[MANY];
	int state[MANY];
	int size; /* clients in it, up to MANY */
	int ep, current;
	int open, answered, failed;
	char first_error[160];
};

static void crowd_fail(struct crowd *k, int i)
{
	if (k->failed++ == 0)
		snprintf(k->first_error, sizeof k->first_error, "client %d: %s", i,
			wisp_cli_error(k->cli[i]));
	k->state[i] = FAILED;
	epoll_ctl(k->ep, EPOLL_CTL_DEL, wisp_cli_fd(k->cli[i]), NULL);
}

static void watch(struct crowd *k, int i, int op, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.u32 = (uint32_t)i };
	epoll_ctl(k->ep, op, wisp_cli_fd(k->cli[i]), &ev);
}

static void on_answer(void *ud, const struct wisp_client_frame *f)
{
	struct crowd *k = ud;
	char want[16];
	snprintf(want, sizeof want, "n%d", k->current);
	int good = k->state[k->current] == OPEN && f->command == ECHO
		&& f->size == strlen(want) && memcmp(f->body, want, f->size) == 0;
	if (!good && k->failed++ == 0)
		snprintf(k->first_error, sizeof k->first_error, "client %d: a "
			"wrong answer", k->current);
	k->state[k->current] = good ? ANSWERED : FAILED;
	k->answered += good;
}

static void crowd_event(struct crowd *k, int i)
{
	static uint8_t buf[65536];
	if (k->state[i] == CONNECTING) {
		int r = wisp_cli_check(k->cli[i]);
		if (r < 0)
			crowd_fail(k, i);
		else if (r == 0) {
			k->state[i] = OPEN;
			k->open++;
			watch(k, i, EPOLL_CTL_MOD, EPOLLIN);
		}
		return;
	}
	k->current = i;
	if (k->state[i] != FAILED
		&& wisp_cli_read(k->cli[i], buf, sizeof buf, on_answer, k) < 0)
		crowd_fail(k, i);
}

/* Handles events until done reaches want or the deadline passes. */
static void crowd_poll(struct crowd *k, const int *done, int want,
	long long deadline)
{
	struct epoll_event ev[256];
	while (*done + k->failed < want && proc_now_ms() < deadline) {
		int n = epoll_wait(k->ep, ev, 256, 100);
		for (int j = 0; j < n; j++)
			crowd_event(k, (int)ev[j].data.u32);
	}
}

/* Connects in waves, so that the listen backlog never overflows (a
 * dropped SYN would wait a second for its retry). */
static void crowd_connect(struct crowd *k, long long deadline)
{
	enum { WAVE = 500 };
	for (int from = 0; from < k->size; from += WAVE) {
		for (int i = from; i < from + WAVE && i < k->size; i++) {
			k->cli[i] = wisp_cli_new(&proto);
			int r = wisp_cli_connect(k->cli[i], "127.0.0.1", ports[MAIN], 0);
			k->state[i] = CONNECTING;
			if (r < 0) {
				crowd_fail(k, i);
				continue;
			}
			watch(k, i, EPOLL_CTL_ADD, EPOLLOUT);
			if (r == 0)
				crowd_event(k, i);
		}
		crowd_poll(k, &k->open, from + WAVE < k->size ? from + WAVE
			: k->size, deadline);
	}
}

static void crowd_echo(struct crowd *k, long long deadline)
{
	char body[16];
	for (int i = 0; i < k->size; i++) {
		if (k->state[i] != OPEN)
			continue;
		snprintf(body, sizeof body, "n%d", i);
		if (wisp_cli_queue(k->cli[i], ECHO, body, strlen(body)) < 0
			|| wisp_cli_flush(k->cli[i]) != 1)
			crowd_fail(k, i);
	}
	crowd_poll(k, &k->answered, k->size, deadline);
}

static void crowd_free(struct crowd *k)
{
	for (int i = 0; i < k->size; i++)
		if (k->cli[i])
			wisp_cli_free(k->cli[i]);
	close(k->ep);
	free(k);
}

/* A crowd of size clients, each open and known to front (its echo came
 * back after its connect event). */
static struct crowd *crowd_open(int size, long long deadline)
{
	struct crowd *k = calloc(1, sizeof *k);
	k->size = size;
	k->ep = epoll_create1(EPOLL_CLOEXEC);
	crowd_connect(k, deadline);
	CHECK_INT(k->open, size);
	crowd_echo(k, deadline);
	CHECK_INT(k->answered, size);
	CHECK_INT(k->failed, 0);
	if (k->failed)
		fprintf(stderr, "  %d failed; the first: %s\n", k->failed,
			k->first_error);
	return k;
}

/* After the crowd has gone, front must hear of every disconnect: one
 * client, the probe, is left. */
static void all_gone(void)
{
	struct wisp_cli *probe = connect_to(MAIN);
	int connects = -1, disconnects = -1;
	echo(probe, "after the crowd");
	CHECK(wait_open(probe, 1, &connects, &disconnects));
	CHECK_INT(connects, MANY + 1);
	wisp_cli_free(probe);
}

static void ten_thousand_clients(void)
{
	if (many_skipped) {
		CHECK(proc_wait_log(&procs[MAIN],
			"open-file limit: the hard limit", "", WAIT_MS));
		return;
	}
	CHECK(proc_log_has(&procs[MAIN], "open-file limit raised from ",
		"for gate.max_connections 10000"));
	crowd_free(crowd_open(MANY, proc_now_ms() + 6 * WAIT_MS));
	CHECK(!proc_log_has(&procs[MAIN], "refused client", ""));
	all_gone();
}

/* ---- 12: a broadcast to many clients, written in slices ---- */

#define CROWD 2000 /* clients of broadcast_to_many */

/* A crowd client's frames in broadcast_to_many: the broadcast, then the
 * multicast after it. k->state counts them; FAILED on any other. */
static void on_wave(void *ud, const struct wisp_client_frame *f)
{
	struct crowd *k = ud;
	int *got = &k->state[k->current];
	const char *want = *got == 0 ? "wave" : "after wave";
	uint32_t command = *got == 0 ? TO_ALL : TO_ONE;
	if (*got < 2 && f->command == command && f->size == strlen(want)
		&& memcmp(f->body, want, f->size) == 0) {
		k->answered += ++*got == 2;
		return;
	}
	if (*got != FAILED && k->failed++ == 0)
		snprintf(k->first_error, sizeof k->first_error, "client %d: frame "
			"%u out of order", k->current, f->command);
	*got = FAILED;
}

static void wave_poll(struct crowd *k, long long deadline)
{
	static uint8_t buf[65536];
	struct epoll_event ev[256];
	while (k->answered + k->failed < k->size && proc_now_ms() < deadline) {
		int n = epoll_wait(k->ep, ev, 256, 100);
		for (int j = 0; j < n; j++) {
			int i = k->current = (int)ev[j].data.u32;
			if (k->state[i] != FAILED && wisp_cli_read(k->cli[i], buf,
					sizeof buf, on_wave, k) < 0)
				crowd_fail(k, i);
		}
	}
}

/* other's next three frames: its echo, anywhere among them, and the
 * broadcast before the multicast. */
static void echo_in_the_wave(struct wisp_cli *other)
{
	struct wisp_client_frame f;
	int echoed = 0, broadcast = 0, pushed = 0;
	for (int n = 0; n < 3; n++) {
		CHECK_INT(wisp_cli_recv(other, &f, WAIT_MS), 1);
		if (f.command == ECHO)
			echoed++;
		else if (f.command == TO_ALL)
			broadcast++;
		else if (f.command == TO_ONE)
			pushed += broadcast; /* counts only after the broadcast */
	}
	CHECK_INT(echoed, 1);
	CHECK_INT(broadcast, 1);
	CHECK_INT(pushed, 1);
}

/* A broadcast to 2,000 clients, which takes the gate several turns,
 * while another client echoes; a multicast to every client right after
 * it reaches each one after the broadcast frame. */
static void broadcast_to_many(void)
{
	long long deadline = proc_now_ms() + 6 * WAIT_MS;
	struct crowd *k = crowd_open(CROWD, deadline);
	struct wisp_cli *t = connect_to(MAIN), *other = connect_to(MAIN);
	echo(t, "the trigger"); /* front knows both now */
	echo(other, "the other");
	for (int i = 0; i < CROWD; i++)
		k->state[i] = 0;
	k->answered = 0;
	send_frame(t, BROADCAST_PUSH, "wave");
	send_frame(other, ECHO, "during the wave");
	echo_in_the_wave(other);
	expect_frame(t, TO_ALL, "wave");
	expect_frame(t, TO_ONE, "after wave");
	expect_frame(t, BROADCAST_PUSH, "pushed");
	wave_poll(k, deadline);
	CHECK_INT(k->answered, CROWD);
	CHECK_INT(k->failed, 0);
	if (k->failed)
		fprintf(stderr, "  %d failed; the first: %s\n", k->failed,
			k->first_error);
	crowd_free(k);
	wisp_cli_free(t);
	wisp_cli_free(other);
}

/* ---- the nodes ---- */

static void start_node(int node, const char *wisp, const char *root,
	const char *config, const char *name)
{
	char conf[512];
	snprintf(conf, sizeof conf, "%s/test/gate/%s", root, config);
	CHECK_INT(gate_node_start(&procs[node], wisp, conf, name, &ports[node],
		START_MS), 0);
}

/* The main node starts with a low open-file limit, so that it must raise
 * it for its 10,000 clients; this process takes the hard limit for its
 * own. Without room for them, that case is skipped. */
static void start_main(const char *wisp, const char *root)
{
	struct rlimit rl, low;
	getrlimit(RLIMIT_NOFILE, &rl);
	low = rl;
	if (low.rlim_cur > 1024)
		low.rlim_cur = 1024;
	setrlimit(RLIMIT_NOFILE, &low);
	start_node(MAIN, wisp, root, "gate.lua", "main");
	rl.rlim_cur = rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);
	if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < MANY_FDS) {
		many_skipped = 1;
		printf("SKIP ten_thousand_clients: the hard open-file limit is %llu, "
			"below the %d that 10,000 clients need\n",
			(unsigned long long)rl.rlim_max, MANY_FDS);
	}
}

static void stop_nodes(void)
{
	for (int node = MAIN; node <= LIMITS; node++) {
		CHECK_INT(proc_stop_clean(&procs[node], WAIT_MS), 0);
		if (test_failures)
			proc_dump(&procs[node]);
		proc_cleanup(&procs[node]);
	}
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: test_gate WISP SOURCE_ROOT\n");
		return 2;
	}
	proc_guard(procs, 2, 170);
	start_main(argv[1], argv[2]);
	start_node(LIMITS, argv[1], argv[2], "limits.lua", "limits");
	RUN(ten_thousand_clients); /* first: the main node's only clients */
	RUN(echo_through_lua);
	RUN(split_frames);
	RUN(coalesced_frames);
	RUN(bad_headers);
	RUN(handler_error);
	RUN(connect_events);
	RUN(kick_after_push);
	RUN(push_multicast_broadcast);
	RUN(broadcast_to_many);
	RUN(slow_reader);
	RUN(max_connections);
	RUN(idle_timeout);
	RUN(rate_limit);
	stop_nodes();
	return TEST_END();
}
