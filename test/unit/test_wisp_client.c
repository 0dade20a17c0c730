/* test_wisp_client.c: the client library against an echo server in a
 * child process, one connection per test: round trips (IPv4 and IPv6,
 * blocking and non-blocking), replies split byte by byte or coalesced, a
 * bad header from the server, a refused or closed connection, the body
 * limit, the connect, receive and send timeouts, and request ids (replies
 * that come out of order, matched by id). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "testlib.h"
#include "proto_alloc.h"
#include "wisp_client.h"

/* Room for a body that overruns the receive buffer, and for one that
 * fills the socket buffers of a server that does not read. */
static const struct wisp_client_proto proto = {
	.magic = {'W', 'I', 'S', 'P'},
	.proto_version = 1,
	.server_version = 7,
	.max_body = 64 << 20,
};

/* How the server answers the frames it reads. */
enum mode {
	ECHO,     /* each frame back as it comes */
	SPLIT,    /* each frame back one byte per write */
	COALESCE, /* the first COALESCED frames back in one write */
	BAD,      /* the first frame back, then a header of protocol 2 */
	SILENT,   /* reads, never answers */
	DEAF,     /* never reads */
	CLOSE,    /* closes at once */
	SWAP,     /* each two frames back, the second first */
};

#define COALESCED 4

struct server {
	pid_t pid;
	int port;
};

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static void write_all(int fd, const void *data, size_t n)
{
	const uint8_t *p = data;
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w <= 0)
			_exit(3);
		p += w;
		n -= (size_t)w;
	}
}

static void write_bytewise(int fd, const uint8_t *data, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		write_all(fd, data + i, 1);
		usleep(200);
	}
}

/* Answers one decoded frame as mode says; pending gathers COALESCE's. */
static void answer(int fd, enum mode mode, const struct wisp_client_frame *f,
	uint8_t **pending, size_t *pending_len, int *count)
{
	size_t n;
	uint8_t *frame = wisp_client_encode(&proto, f->command, f->body, f->size,
		&n);
	if (mode == ECHO || mode == BAD)
		write_all(fd, frame, n);
	if (mode == BAD) {
		uint8_t head[WISP_CLIENT_HEADER];
		wisp_client_header(&proto, f->command, 0, head);
		head[4] = 2;
		write_all(fd, head, sizeof head);
	}
	if (mode == SPLIT)
		write_bytewise(fd, frame, n);
	if (mode == SWAP && ++*count % 2 == 1) {
		*pending = wisp_proto_realloc(*pending, n);
		memcpy(*pending, frame, n);
		*pending_len = n;
	} else if (mode == SWAP) {
		write_all(fd, frame, n);
		write_all(fd, *pending, *pending_len);
	}
	if (mode == COALESCE) {
		*pending = wisp_proto_realloc(*pending, *pending_len + n);
		memcpy(*pending + *pending_len, frame, n);
		*pending_len += n;
		if (++*count == COALESCED)
			write_all(fd, *pending, *pending_len);
	}
	wisp_proto_free(frame);
}

/* The child's whole life: one connection, served until the client goes. */
static void serve(int fd, enum mode mode)
{
	if (mode == CLOSE)
		return;
	if (mode == DEAF) {
		sleep(10); /* killed long before */
		return;
	}
	struct wisp_client_decoder d;
	wisp_client_decoder_init(&d, &proto);
	uint8_t buf[4096], *pending = NULL;
	size_t pending_len = 0;
	int count = 0;
	ssize_t n;
	while ((n = read(fd, buf, sizeof buf)) > 0) {
		const uint8_t *p = buf;
		size_t left = (size_t)n;
		struct wisp_client_frame f;
		while (wisp_client_next(&d, &p, &left, &f) == 1)
			if (mode != SILENT)
				answer(fd, mode, &f, &pending, &pending_len, &count);
	}
	wisp_proto_free(pending);
	wisp_client_decoder_free(&d);
}

static int listen_on(int family, int backlog, int *port)
{
	struct sockaddr_storage sa;
	socklen_t len = family == AF_INET ? sizeof(struct sockaddr_in)
		: sizeof(struct sockaddr_in6);
	memset(&sa, 0, sizeof sa);
	sa.ss_family = (sa_family_t)family;
	if (family == AF_INET)
		((struct sockaddr_in *)&sa)->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	else
		((struct sockaddr_in6 *)&sa)->sin6_addr = in6addr_loopback;
	int fd = socket(family, SOCK_STREAM, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, len) < 0
		|| listen(fd, backlog) < 0
		|| getsockname(fd, (struct sockaddr *)&sa, &len) < 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	*port = ntohs(((struct sockaddr_in *)&sa)->sin_port);
	return fd;
}

/* Starts a server for one connection on loopback; 0 or -1. */
static int server_start(struct server *s, int family, enum mode mode)
{
	int fd = listen_on(family, 1, &s->port);
	if (fd < 0)
		return -1;
	s->pid = fork();
	if (s->pid == 0) {
		int conn = accept(fd, NULL, NULL);
		serve(conn, mode);
		close(conn);
		_exit(0);
	}
	close(fd);
	return s->pid > 0 ? 0 : -1;
}

/* Ends the server once its client has closed; its exit code. */
static int server_stop(struct server *s, int kill_it)
{
	int status;
	if (kill_it)
		kill(s->pid, SIGKILL);
	waitpid(s->pid, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* A connection to a new server, or NULL (the check says why). */
static struct wisp_cli *open_to(struct server *s, enum mode mode)
{
	CHECK_INT(server_start(s, AF_INET, mode), 0);
	struct wisp_cli *c = wisp_cli_new(&proto);
	CHECK_INT(wisp_cli_connect(c, "127.0.0.1", s->port, 2000), 0);
	CHECK(wisp_cli_error(c) == NULL);
	return c;
}

static void finish(struct wisp_cli *c, struct server *s)
{
	wisp_cli_free(c);
	CHECK_INT(server_stop(s, 0), 0);
}

/* A body whose bytes follow from its size and a seed. */
static uint8_t *body_of(size_t n, unsigned seed)
{
	uint8_t *b = wisp_proto_malloc(n);
	for (size_t i = 0; i < n; i++)
		b[i] = (uint8_t)(i * 31 + seed + (i >> 8));
	return b;
}

static void expect_frame(struct wisp_cli *c, uint32_t command, size_t size,
	unsigned seed)
{
	struct wisp_client_frame f;
	CHECK_INT(wisp_cli_recv(c, &f, 2000), 1);
	CHECK_INT(f.command, command);
	CHECK_INT(f.size, size);
	uint8_t *want = body_of(size, seed);
	CHECK(f.size != size || memcmp(f.body, want, size) == 0);
	wisp_proto_free(want);
}

static void send_frame(struct wisp_cli *c, uint32_t command, size_t size,
	unsigned seed)
{
	uint8_t *body = body_of(size, seed);
	CHECK_INT(wisp_cli_send(c, command, body, size, 2000), 0);
	wisp_proto_free(body);
}

/* An empty body, a small one, and one longer than the receive buffer. */
static void round_trip(void)
{
	struct server s;
	struct wisp_cli *c = open_to(&s, ECHO);
	CHECK(wisp_cli_fd(c) >= 0);
	send_frame(c, 1001, 2, 1);
	expect_frame(c, 1001, 2, 1);
	send_frame(c, 0, 0, 0);
	expect_frame(c, 0, 0, 0);
	send_frame(c, UINT32_MAX, 40000, 2);
	expect_frame(c, UINT32_MAX, 40000, 2);
	finish(c, &s);
}

static void round_trip_ipv6(void)
{
	struct server s;
	if (server_start(&s, AF_INET6, ECHO) < 0) {
		fprintf(stderr, "round_trip_ipv6: no IPv6 loopback, skipped\n");
		return;
	}
	struct wisp_cli *c = wisp_cli_new(&proto);
	CHECK_INT(wisp_cli_connect(c, "::1", s.port, 2000), 0);
	send_frame(c, 7, 100, 3);
	expect_frame(c, 7, 100, 3);
	finish(c, &s);
}

static const size_t sizes[COALESCED] = { 5, 0, 300, 20000 };

static void split_byte_by_byte(void)
{
	struct server s;
	struct wisp_cli *c = open_to(&s, SPLIT);
	for (int i = 0; i < 3; i++)
		send_frame(c, (uint32_t)(100 + i), sizes[i], (unsigned)i);
	for (int i = 0; i < 3; i++)
		expect_frame(c, (uint32_t)(100 + i), sizes[i], (unsigned)i);
	finish(c, &s);
}

static void coalesced(void)
{
	struct server s;
	struct wisp_cli *c = open_to(&s, COALESCE);
	for (int i = 0; i < COALESCED; i++) {
		uint8_t *body = body_of(sizes[i], (unsigned)i);
		CHECK_INT(wisp_cli_queue(c, (uint32_t)(200 + i), body, sizes[i]), 0);
		wisp_proto_free(body);
	}
	CHECK_INT(wisp_cli_flush(c), 1);
	for (int i = 0; i < COALESCED; i++)
		expect_frame(c, (uint32_t)(200 + i), sizes[i], (unsigned)i);
	finish(c, &s);
}

/* What the non-blocking reader has handed out. */
struct seen {
	int count;
	int good;
};

static void on_frame(void *ud, const struct wisp_client_frame *f)
{
	struct seen *seen = ud;
	int i = seen->count++;
	if (i >= COALESCED)
		return;
	uint8_t *want = body_of(sizes[i], (unsigned)i);
	seen->good += f->command == (uint32_t)(200 + i)
		&& f->size == sizes[i]
		&& memcmp(f->body, want, f->size) == 0;
	wisp_proto_free(want);
}

/* Connects without waiting, then reads the coalesced replies through a
 * 7-byte buffer, so that the reader splits them too. */
static void nonblocking(void)
{
	struct server s;
	CHECK_INT(server_start(&s, AF_INET, COALESCE), 0);
	struct wisp_cli *c = wisp_cli_new(&proto);
	int r = wisp_cli_connect(c, "127.0.0.1", s.port, 0);
	CHECK(r == 0 || r == 1);
	struct pollfd p = { wisp_cli_fd(c), POLLOUT, 0 };
	while (r == 1 && poll(&p, 1, 2000) == 1)
		r = wisp_cli_check(c);
	CHECK_INT(r, 0);
	for (int i = 0; i < COALESCED; i++) {
		uint8_t *body = body_of(sizes[i], (unsigned)i);
		CHECK_INT(wisp_cli_queue(c, (uint32_t)(200 + i), body, sizes[i]), 0);
		wisp_proto_free(body);
	}
	p.events = POLLOUT;
	while ((r = wisp_cli_flush(c)) == 0 && poll(&p, 1, 2000) == 1)
		;
	CHECK_INT(r, 1);
	struct seen seen = { 0, 0 };
	uint8_t buf[7];
	p.events = POLLIN;
	while (seen.count < COALESCED && poll(&p, 1, 2000) == 1)
		CHECK(wisp_cli_read(c, buf, sizeof buf, on_frame, &seen) >= 0);
	CHECK_INT(seen.count, COALESCED);
	CHECK_INT(seen.good, COALESCED);
	finish(c, &s);
}

/* The good frame before the bad header still arrives; the rest fails. */
static void bad_header(void)
{
	struct server s;
	struct wisp_cli *c = open_to(&s, BAD);
	send_frame(c, 5, 10, 5);
	expect_frame(c, 5, 10, 5);
	struct wisp_client_frame f;
	CHECK_INT(wisp_cli_recv(c, &f, 2000), -1);
	CHECK_STR(wisp_cli_error(c),
		"bad frame from server: protocol version 2, want 1");
	CHECK_INT(wisp_cli_send(c, 5, "x", 1, 100), -1);
	CHECK_STR(wisp_cli_error(c),
		"bad frame from server: protocol version 2, want 1");
	finish(c, &s);
}

static void refused(void)
{
	int port, fd = listen_on(AF_INET, 1, &port);
	close(fd); /* nothing listens there now */
	struct wisp_cli *c = wisp_cli_new(&proto);
	CHECK_INT(wisp_cli_connect(c, "127.0.0.1", port, 2000), -1);
	CHECK_STR(wisp_cli_error(c), "connect failed: Connection refused");
	CHECK_INT(wisp_cli_send(c, 1, "x", 1, 100), -1);
	wisp_cli_free(c);
}

static void closed_by_server(void)
{
	struct server s;
	struct wisp_cli *c = open_to(&s, CLOSE);
	struct wisp_client_frame f;
	CHECK_INT(wisp_cli_recv(c, &f, 2000), -1);
	CHECK_STR(wisp_cli_error(c), "closed by server");
	finish(c, &s);
}

static void bad_arguments(void)
{
	struct wisp_cli *c = wisp_cli_new(&proto);
	CHECK_INT(wisp_cli_send(c, 1, "x", 1, 100), -1);
	CHECK_STR(wisp_cli_error(c), "not connected");
	CHECK_INT(wisp_cli_connect(c, "localhost", 80, 100), -1);
	CHECK_STR(wisp_cli_error(c),
		"bad address \"localhost\": not a numeric IPv4 or IPv6 address");
	wisp_cli_free(c);
	c = wisp_cli_new(&proto);
	CHECK_INT(wisp_cli_connect(c, "127.0.0.1", 0, 100), -1);
	CHECK_STR(wisp_cli_error(c), "bad port 0");
	wisp_cli_free(c);
}

/* A body over the limit is refused whole; the connection goes on. */
static void body_limit(void)
{
	static const struct wisp_client_proto small = {
		.magic = {'W', 'I', 'S', 'P'},
		.proto_version = 1,
		.server_version = 7,
		.max_body = 100,
	};
	struct server s;
	CHECK_INT(server_start(&s, AF_INET, ECHO), 0);
	struct wisp_cli *c = wisp_cli_new(&small);
	CHECK_INT(wisp_cli_connect(c, "127.0.0.1", s.port, 2000), 0);
	uint8_t body[101] = { 0 };
	CHECK_INT(wisp_cli_send(c, 9, body, 101, 1000), -1);
	CHECK_STR(wisp_cli_error(c), "body of 101 bytes exceeds the limit of 100");
	CHECK_INT(wisp_cli_send(c, 9, body, 100, 1000), 0);
	struct wisp_client_frame f;
	CHECK_INT(wisp_cli_recv(c, &f, 2000), 1);
	CHECK_INT(f.size, 100);
	finish(c, &s);
}

/* With request ids, a frame goes out with its id before the body, and
 * comes back with it split off: the two of each pair come back swapped,
 * and their ids say which answers which. A frame too short for an id
 * fails the connection; an id and a body must fit max_body together. */
static void request_ids(void)
{
	struct server s;
	struct wisp_cli *c = open_to(&s, SWAP);
	wisp_cli_request_ids(c, 1);
	uint8_t *body = body_of(300, 3);
	CHECK_INT(wisp_cli_queue_id(c, 10, 1, body, 300), 0);
	CHECK_INT(wisp_cli_send_id(c, 11, 2, "two", 3, 2000), 0);
	struct wisp_client_frame f;
	CHECK_INT(wisp_cli_recv(c, &f, 2000), 1);
	CHECK(f.command == 11 && f.request == 2 && f.size == 3
		&& memcmp(f.body, "two", 3) == 0);
	CHECK_INT(wisp_cli_recv(c, &f, 2000), 1);
	CHECK(f.command == 10 && f.request == 1 && f.size == 300
		&& memcmp(f.body, body, 300) == 0);
	CHECK_INT(wisp_cli_queue_id(c, 9, 3, body, proto.max_body - 3), -1);
	CHECK_STR(wisp_cli_error(c), "body of 67108861 bytes and a request id "
		"exceed the limit of 67108864");
	wisp_proto_free(body);
	CHECK_INT(wisp_cli_send(c, 12, "ab", 2, 2000), 0);
	CHECK_INT(wisp_cli_send(c, 13, "", 0, 2000), 0);
	CHECK_INT(wisp_cli_recv(c, &f, 2000), -1);
	CHECK_STR(wisp_cli_error(c), "bad frame from server: a body of 0 bytes, "
		"too short for a request id");
	finish(c, &s);
}

/* A receive that times out leaves the connection usable. */
static void recv_timeout(void)
{
	struct server s;
	struct wisp_cli *c = open_to(&s, SILENT);
	send_frame(c, 1, 3, 0);
	struct wisp_client_frame f;
	long long start = now_ms();
	CHECK_INT(wisp_cli_recv(c, &f, 150), 0);
	long long took = now_ms() - start;
	CHECK(took >= 149 && took < 1000);
	CHECK_STR(wisp_cli_error(c), "no frame within 150 ms");
	send_frame(c, 1, 3, 0);
	finish(c, &s);
}

/* 32 MiB to a server that never reads fills both socket buffers. */
static void send_timeout(void)
{
	struct server s;
	struct wisp_cli *c = open_to(&s, DEAF);
	size_t n = 32 << 20;
	uint8_t *body = calloc(1, n);
	long long start = now_ms();
	CHECK_INT(wisp_cli_send(c, 1, body, n, 200), -1);
	long long took = now_ms() - start;
	CHECK(took >= 199 && took < 2000);
	CHECK_STR(wisp_cli_error(c), "send timed out after 200 ms");
	free(body);
	wisp_cli_free(c);
	server_stop(&s, 1);
}

/* A listener that never accepts, its backlog of one taken: Linux drops
 * the next SYN, so the next connect hangs. */
static void connect_timeout(void)
{
	int port, fd = listen_on(AF_INET, 0, &port);
	struct wisp_cli *first = wisp_cli_new(&proto);
	CHECK_INT(wisp_cli_connect(first, "127.0.0.1", port, 2000), 0);
	struct wisp_cli *c = wisp_cli_new(&proto);
	long long start = now_ms();
	CHECK_INT(wisp_cli_connect(c, "127.0.0.1", port, 200), -1);
	long long took = now_ms() - start;
	CHECK(took >= 199 && took < 2000);
	CHECK_STR(wisp_cli_error(c), "connect timed out after 200 ms");
	wisp_cli_free(c);
	wisp_cli_free(first);
	close(fd);
}

int main(void)
{
	RUN(round_trip);
	RUN(round_trip_ipv6);
	RUN(split_byte_by_byte);
	RUN(coalesced);
	RUN(nonblocking);
	RUN(bad_header);
	RUN(refused);
	RUN(closed_by_server);
	RUN(bad_arguments);
	RUN(body_limit);
	RUN(recv_timeout);
	RUN(send_timeout);
	RUN(connect_timeout);
	RUN(request_ids);
	return TEST_END();
}
