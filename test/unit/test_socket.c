/* test_socket.c: the socket layer over real TCP on 127.0.0.1. Events are
 * collected in an array by our own deliver callback; every wait is
 * bounded in time, so a bug fails a check instead of hanging. */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <time.h>
#include <unistd.h>
#include "socket.h"
#include "testlib.h"

#define LIMIT (1024 * 1024)
#define WAIT_MS 3000

enum { LISTENER = 1, CLIENT = 2, SERVER = 3, OTHER = 4, MANY = 5 };

struct event {
	wisp_handle owner;
	struct wisp_socket_msg *msg;
};

static struct event *events;
static int nevents, events_cap;

static void collect(wisp_handle owner, struct wisp_socket_msg *msg, size_t sz)
{
	CHECK_INT(sz, sizeof *msg + msg->size);
	CHECK_INT(msg->data[msg->size], 0);
	if (nevents == events_cap) {
		events_cap = events_cap ? events_cap * 2 : 64;
		events = realloc(events, events_cap * sizeof *events);
	}
	events[nevents++] = (struct event){ owner, msg };
}

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Removes and returns the first collected event of this kind on id (any
 * kind when event is 0), or NULL. The caller frees it. */
static struct wisp_socket_msg *take(int event, int id, wisp_handle *owner)
{
	for (int i = 0; i < nevents; i++) {
		struct wisp_socket_msg *m = events[i].msg;
		if ((event && m->event != event) || m->id != id)
			continue;
		if (owner)
			*owner = events[i].owner;
		memmove(&events[i], &events[i + 1], (nevents - i - 1) * sizeof *events);
		nevents--;
		return m;
	}
	return NULL;
}

static struct wisp_socket_msg *wait_for(int event, int id, wisp_handle *owner)
{
	uint64_t deadline = now_ms() + WAIT_MS;
	struct wisp_socket_msg *m;
	while ((m = take(event, id, owner)) == NULL && now_ms() < deadline)
		wisp_net_poll(10);
	return m;
}

static void pump(int ms)
{
	uint64_t deadline = now_ms() + ms;
	while (now_ms() < deadline)
		wisp_net_poll(5);
}

static void clear_events(void)
{
	for (int i = 0; i < nevents; i++)
		wisp_free(events[i].msg);
	nevents = 0;
}

/* Checks that event on id arrived for owner, and frees it. */
static void expect(int event, int id, wisp_handle owner)
{
	wisp_handle got = 0;
	struct wisp_socket_msg *m = wait_for(event, id, &got);
	CHECK(m != NULL);
	if (m)
		CHECK_INT(got, owner);
	wisp_free(m);
}

/* Reads DATA on id until want bytes arrived, id closed or time ran out. */
static size_t receive(int id, unsigned char *buf, size_t want)
{
	uint64_t deadline = now_ms() + WAIT_MS;
	size_t got = 0;
	while (got < want && now_ms() < deadline) {
		struct wisp_socket_msg *m = take(WISP_SOCKET_DATA, id, NULL);
		if (m == NULL) {
			wisp_net_poll(10);
			continue;
		}
		size_t n = m->size < want - got ? m->size : want - got;
		memcpy(buf + got, m->data, n);
		got += m->size;
		wisp_free(m);
	}
	return got;
}

static void expect_text(int id, const char *text)
{
	char buf[256] = "";
	CHECK_INT(receive(id, (unsigned char *)buf, strlen(text)), strlen(text));
	CHECK_STR(buf, text);
}

static int listen_any(wisp_handle owner, int *port)
{
	int l = wisp_net_listen(owner, "127.0.0.1", 0, 16);
	CHECK(l > 0);
	*port = wisp_net_port(l);
	CHECK(*port > 0);
	return l;
}

/* A plain socket connected to 127.0.0.1:port, a listener of ours: its
 * connection waits there to be accepted. */
static int plain_connect(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET,
		.sin_port = htons((uint16_t)port),
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	CHECK_INT(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	return fd;
}

/* Connects a CLIENT socket to l; the accepted one is left unstarted. */
static void connect_to(int l, int port, wisp_handle owner, int *c, int *s)
{
	*c = wisp_net_connect(owner, "127.0.0.1", port);
	CHECK(*c > 0);
	expect(WISP_SOCKET_CONNECT, *c, owner);
	struct wisp_socket_msg *m = wait_for(WISP_SOCKET_ACCEPT, l, NULL);
	CHECK(m != NULL);
	*s = m ? m->ud : -1;
	wisp_free(m);
}

static void pair(int *l, int *c, int *s)
{
	int port;
	*l = listen_any(LISTENER, &port);
	connect_to(*l, port, CLIENT, c, s);
}

static void fill(unsigned char *p, size_t n)
{
	uint32_t x = 2463534242u;
	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		p[i] = (unsigned char)x;
	}
}

static uint64_t fnv(const unsigned char *p, size_t n)
{
	uint64_t h = 14695981039346656037ull;
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 1099511628211ull;
	return h;
}

/* Closes whatever a test left open and forgets its events. */
static void cleanup(void)
{
	for (wisp_handle o = LISTENER; o <= MANY; o++)
		wisp_net_drop_owner(o);
	clear_events();
}

static void test_echo(void)
{
	int l, c, s;
	pair(&l, &c, &s);
	CHECK_INT(wisp_net_start(SERVER, s), 0);
	CHECK_INT(wisp_net_write(c, "hello", 5), 0);
	expect_text(s, "hello");
	CHECK_INT(wisp_net_write(s, "world", 5), 0);
	expect_text(c, "world");
	cleanup();
}

static void test_accept_carries_peer(void)
{
	int port, s;
	int l = listen_any(LISTENER, &port);
	int c = wisp_net_connect(CLIENT, "127.0.0.1", port);
	wisp_handle owner = 0;
	struct wisp_socket_msg *m = wait_for(WISP_SOCKET_ACCEPT, l, &owner);
	CHECK(m != NULL);
	if (m == NULL) {
		cleanup();
		return;
	}
	char want[64];
	snprintf(want, sizeof want, "127.0.0.1:%d", wisp_net_port(c));
	CHECK_INT(owner, LISTENER);
	CHECK_STR(m->data, want);
	CHECK_INT(m->size, strlen(want));
	s = m->ud;
	CHECK(s > 0 && s != l && s != c);
	wisp_free(m);
	cleanup();
}

static void test_no_read_before_start(void)
{
	int l, c, s;
	pair(&l, &c, &s);
	CHECK_INT(wisp_net_write(c, "early", 5), 0);
	pump(100);
	CHECK(take(0, s, NULL) == NULL);
	CHECK_INT(wisp_net_start(SERVER, s), 0);
	expect_text(s, "early");
	cleanup();
}

/* Bytes written before the connect completes wait in the queue. */
static void test_write_while_connecting(void)
{
	int port, s;
	int l = listen_any(LISTENER, &port);
	int c = wisp_net_connect(CLIENT, "127.0.0.1", port);
	CHECK_INT(wisp_net_write(c, "queued", 6), 0);
	struct wisp_socket_msg *m = wait_for(WISP_SOCKET_ACCEPT, l, NULL);
	CHECK(m != NULL);
	s = m ? m->ud : -1;
	wisp_free(m);
	CHECK_INT(wisp_net_start(SERVER, s), 0);
	expect_text(s, "queued");
	cleanup();
}

static void test_connect_refused(void)
{
	int port;
	int l = listen_any(LISTENER, &port);
	wisp_net_close(l);
	int c = wisp_net_connect(CLIENT, "127.0.0.1", port);
	CHECK(c > 0);
	wisp_handle owner = 0;
	struct wisp_socket_msg *m = wait_for(WISP_SOCKET_ERROR, c, &owner);
	CHECK(m != NULL);
	if (m) {
		char want[80];
		snprintf(want, sizeof want,
			"connect to 127.0.0.1:%d: Connection refused", port);
		CHECK_STR(m->data, want);
		CHECK_INT(owner, CLIENT);
	}
	wisp_free(m);
	CHECK_INT(wisp_net_write(c, "x", 1), -1);
	cleanup();
}

static void test_bad_address(void)
{
	errno = 0;
	CHECK_INT(wisp_net_connect(CLIENT, "localhost", 80), -1);
	CHECK_INT(errno, EINVAL);
	CHECK_INT(wisp_net_connect(CLIENT, "127.0.0.1", 70000), -1);
	CHECK_INT(wisp_net_connect(CLIENT, NULL, 80), -1);
	CHECK_INT(wisp_net_listen(LISTENER, "1.2.3.999", 0, 16), -1);
	CHECK_INT(errno, EINVAL);
}

/* Writes 1 MB pieces to c until a write fails; the peer never reads, so
 * once the kernel's buffers are full the rest queues up to the limit. */
static int write_until_full(int c)
{
	size_t piece = 1024 * 1024;
	unsigned char *buf = calloc(1, piece);
	int rc = 0;
	for (int i = 0; i < 256 && rc == 0; i++)
		rc = wisp_net_write(c, buf, piece);
	free(buf);
	return rc;
}

static void test_write_limit(void)
{
	int l, c, s;
	pair(&l, &c, &s);
	CHECK_INT(write_until_full(c), -1);
	CHECK_INT(errno, ENOBUFS);
	wisp_handle owner = 0;
	struct wisp_socket_msg *m = take(WISP_SOCKET_ERROR, c, &owner);
	CHECK(m != NULL);
	if (m) {
		CHECK_STR(m->data, "write buffer limit of 1048576 bytes exceeded");
		CHECK_INT(owner, CLIENT);
	}
	wisp_free(m);
	CHECK_INT(wisp_net_write(c, "x", 1), -1);
	CHECK_INT(errno, EBADF);
	cleanup();
}

static void test_set_limit(void)
{
	int l, c, s;
	pair(&l, &c, &s);
	CHECK_INT(wisp_net_set_limit(c, 1000), 0);
	CHECK_INT(write_until_full(c), -1);
	struct wisp_socket_msg *m = take(WISP_SOCKET_ERROR, c, NULL);
	CHECK(m != NULL);
	if (m)
		CHECK_STR(m->data, "write buffer limit of 1000 bytes exceeded");
	wisp_free(m);
	cleanup();
}

/* 8 MB to a peer that starts reading only after close: all of it arrives,
 * then EOF, and the closer hears nothing. */
static void test_close_flushes(void)
{
	int l, c, s;
	size_t n = 8 * 1024 * 1024;
	unsigned char *out = malloc(n), *in = malloc(n);
	fill(out, n);
	pair(&l, &c, &s);
	CHECK_INT(wisp_net_set_limit(c, n), 0);
	CHECK_INT(wisp_net_write(c, out, n), 0);
	wisp_net_close(c);
	CHECK_INT(wisp_net_write(c, "x", 1), -1);
	CHECK_INT(wisp_net_start(SERVER, s), 0);
	CHECK_INT(receive(s, in, n), n);
	CHECK(memcmp(in, out, n) == 0);
	expect(WISP_SOCKET_CLOSE, s, SERVER);
	CHECK(take(WISP_SOCKET_DATA, s, NULL) == NULL);
	CHECK(take(0, c, NULL) == NULL);
	free(out);
	free(in);
	cleanup();
}

static void test_peer_close(void)
{
	int l, c, s;
	pair(&l, &c, &s);
	CHECK_INT(wisp_net_start(SERVER, s), 0);
	wisp_net_close(c);
	wisp_handle owner = 0;
	struct wisp_socket_msg *m = wait_for(WISP_SOCKET_CLOSE, s, &owner);
	CHECK(m != NULL);
	if (m) {
		CHECK_INT(owner, SERVER);
		CHECK_INT(m->size, 0);
	}
	wisp_free(m);
	CHECK_INT(wisp_net_write(s, "x", 1), -1);
	cleanup();
}

/* A client that sends its request and shuts down its writing half still
 * gets the whole answer, even what was queued when its EOF came. */
static void test_half_close_flushes(void)
{
	int port;
	int l = listen_any(LISTENER, &port);
	int fd = plain_connect(port);
	struct wisp_socket_msg *m = wait_for(WISP_SOCKET_ACCEPT, l, NULL);
	int srv = m ? m->ud : -1;
	wisp_free(m);
	CHECK_INT(write(fd, "req", 3), 3);
	CHECK_INT(shutdown(fd, SHUT_WR), 0);
	CHECK_INT(wisp_net_start(SERVER, srv), 0);
	expect_text(srv, "req");
	size_t n = 8 * 1024 * 1024;
	unsigned char *out = malloc(n), *in = malloc(n);
	fill(out, n);
	CHECK_INT(wisp_net_set_limit(srv, n), 0);
	CHECK_INT(wisp_net_write(srv, out, n), 0);
	expect(WISP_SOCKET_CLOSE, srv, SERVER);
	size_t got = 0;
	uint64_t deadline = now_ms() + WAIT_MS;
	while (got < n && now_ms() < deadline) {
		wisp_net_poll(0);
		ssize_t r = recv(fd, in + got, n - got, MSG_DONTWAIT);
		if (r > 0)
			got += (size_t)r;
		else if (r == 0)
			break;
	}
	CHECK_INT(got, n);
	CHECK(memcmp(in, out, n) == 0);
	close(fd);
	free(out);
	free(in);
	cleanup();
}

/* A reset before start still reaches the listener's service. */
static void test_reset_before_start(void)
{
	int port, s;
	int l = listen_any(LISTENER, &port);
	int fd = plain_connect(port);
	struct wisp_socket_msg *m = wait_for(WISP_SOCKET_ACCEPT, l, NULL);
	CHECK(m != NULL);
	s = m ? m->ud : -1;
	wisp_free(m);
	struct linger lg = { 1, 0 };
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
	close(fd);
	wisp_handle owner = 0;
	m = wait_for(WISP_SOCKET_ERROR, s, &owner);
	CHECK(m != NULL);
	if (m) {
		CHECK_INT(owner, LISTENER);
		CHECK(strstr(m->data, "Connection reset by peer") != NULL);
	}
	wisp_free(m);
	CHECK_INT(wisp_net_start(SERVER, s), -1);
	cleanup();
}

/* Writing to a peer that is gone fails the socket, without SIGPIPE. */
static void test_write_to_closed_peer(void)
{
	int l, c, s;
	char chunk[1024] = "";
	pair(&l, &c, &s);
	wisp_net_close(s);
	int rc = 0;
	for (int i = 0; i < 200 && rc == 0; i++) {
		rc = wisp_net_write(c, chunk, sizeof chunk);
		usleep(1000);
	}
	CHECK_INT(rc, -1);
	struct wisp_socket_msg *m = take(WISP_SOCKET_ERROR, c, NULL);
	CHECK(m != NULL);
	if (m)
		CHECK(strncmp(m->data, "write to 127.0.0.1:", 19) == 0);
	wisp_free(m);
	cleanup();
}

static void test_drop_owner(void)
{
	int port, a1, a2, b, s1, s2, s3;
	int l = listen_any(LISTENER, &port);
	connect_to(l, port, CLIENT, &a1, &s1);
	connect_to(l, port, CLIENT, &a2, &s2);
	connect_to(l, port, OTHER, &b, &s3);
	CHECK_INT(wisp_net_start(SERVER, s1), 0);
	CHECK_INT(wisp_net_start(SERVER, s2), 0);
	CHECK_INT(wisp_net_start(SERVER, s3), 0);
	wisp_net_drop_owner(CLIENT);
	CHECK_INT(wisp_net_write(a1, "x", 1), -1);
	CHECK_INT(wisp_net_write(a2, "x", 1), -1);
	expect(WISP_SOCKET_CLOSE, s1, SERVER);
	expect(WISP_SOCKET_CLOSE, s2, SERVER);
	CHECK_INT(wisp_net_write(b, "still", 5), 0);
	expect_text(s3, "still");
	CHECK(wisp_net_port(l) == port);
	CHECK(take(0, a1, NULL) == NULL && take(0, a2, NULL) == NULL);
	cleanup();
}

static void test_stale_id(void)
{
	int port;
	int l = listen_any(LISTENER, &port);
	wisp_net_close(l);
	errno = 0;
	CHECK_INT(wisp_net_write(l, "x", 1), -1);
	CHECK_INT(errno, EBADF);
	CHECK_INT(wisp_net_start(SERVER, l), -1);
	CHECK_INT(wisp_net_set_limit(l, 10), -1);
	CHECK_INT(wisp_net_port(l), -1);
	wisp_net_close(l);
	CHECK_INT(wisp_net_write(0, "x", 1), -1);
	CHECK_INT(wisp_net_write(-1, "x", 1), -1);
	CHECK_INT(wisp_net_write(123456789, "x", 1), -1);
	CHECK_INT(errno, EBADF);
	cleanup();
}

static void test_ids_not_reused(void)
{
	int ids[40], port;
	for (int i = 0; i < 40; i++) {
		ids[i] = listen_any(LISTENER, &port);
		wisp_net_close(ids[i]);
	}
	for (int i = 0; i < 40; i++)
		for (int j = 0; j < i; j++)
			CHECK(ids[i] != ids[j]);
	cleanup();
}

/* More sockets than the initial table holds: all stay reachable. */
static void test_many_sockets(void)
{
	int ids[100], port;
	for (int i = 0; i < 100; i++)
		ids[i] = listen_any(MANY, &port);
	for (int i = 0; i < 100; i++)
		CHECK(wisp_net_port(ids[i]) > 0);
	wisp_net_drop_owner(MANY);
	for (int i = 0; i < 100; i++)
		CHECK_INT(wisp_net_port(ids[i]), -1);
	cleanup();
}

static void test_big_transfer(void)
{
	int l, c, s;
	size_t n = 10 * 1024 * 1024;
	unsigned char *out = malloc(n), *in = malloc(n);
	fill(out, n);
	pair(&l, &c, &s);
	CHECK_INT(wisp_net_start(SERVER, s), 0);
	CHECK_INT(wisp_net_set_limit(c, n), 0);
	CHECK_INT(wisp_net_write(c, out, n), 0);
	CHECK_INT(receive(s, in, n), n);
	CHECK(fnv(in, n) == fnv(out, n));
	free(out);
	free(in);
	cleanup();
}

/* Takes every DATA collected for id into buf at *got; how many bytes. */
static size_t take_data(int id, unsigned char *buf, size_t *got)
{
	size_t n = 0;
	struct wisp_socket_msg *m;
	while ((m = take(WISP_SOCKET_DATA, id, NULL)) != NULL) {
		memcpy(buf + *got, m->data, m->size);
		*got += m->size;
		n += m->size;
		wisp_free(m);
	}
	return n;
}

/* At most the read limit is handed out until the owner gives bytes back;
 * reading resumes at half, and every byte arrives, in order. */
static void test_read_limit(void)
{
	int l, c, s;
	size_t n = 64 * 1024, got = 0;
	unsigned char *out = malloc(n), *in = malloc(n);
	fill(out, n);
	pair(&l, &c, &s);
	CHECK_INT(wisp_net_read_limit(s, 4096), 0);
	CHECK_INT(wisp_net_start(SERVER, s), 0);
	CHECK_INT(wisp_net_write(c, out, n), 0);
	pump(200);
	CHECK_INT(take_data(s, in, &got), 4096);
	wisp_net_consumed(s, 1000); /* 3096 out: above half, still held */
	pump(100);
	CHECK_INT(take_data(s, in, &got), 0);
	wisp_net_consumed(s, 1500); /* 1596 out: read again, up to 4096 */
	pump(100);
	CHECK_INT(take_data(s, in, &got), 2500);
	uint64_t deadline = now_ms() + WAIT_MS;
	while (got < n && now_ms() < deadline) {
		wisp_net_consumed(s, 4096);
		wisp_net_poll(10);
		take_data(s, in, &got);
	}
	CHECK_INT(got, n);
	CHECK(memcmp(in, out, n) == 0);
	free(out);
	free(in);
	cleanup();
}

/* Held at its limit, a socket whose peer has closed does not spin (no
 * event until the owner reads on), then delivers the rest and the close;
 * a reset is reported while held. */
static void test_read_limit_close(void)
{
	int l, c, s;
	unsigned char out[3000], in[3000];
	size_t got = 0;
	fill(out, sizeof out);
	pair(&l, &c, &s);
	CHECK_INT(wisp_net_read_limit(s, 1000), 0);
	CHECK_INT(wisp_net_start(SERVER, s), 0);
	CHECK_INT(wisp_net_write(c, out, sizeof out), 0);
	wisp_net_close(c);
	pump(200);
	CHECK_INT(take_data(s, in, &got), 1000);
	CHECK_INT(wisp_net_poll(50), 0);
	CHECK(take(WISP_SOCKET_CLOSE, s, NULL) == NULL);
	wisp_net_read_limit(s, 0);
	expect(WISP_SOCKET_CLOSE, s, SERVER);
	take_data(s, in, &got);
	CHECK_INT(got, sizeof out);
	CHECK(memcmp(in, out, sizeof out) == 0);
	cleanup();

	int port;
	l = listen_any(LISTENER, &port);
	int fd = plain_connect(port);
	struct wisp_socket_msg *m = wait_for(WISP_SOCKET_ACCEPT, l, NULL);
	s = m ? m->ud : -1;
	wisp_free(m);
	CHECK_INT(wisp_net_read_limit(s, 1000), 0);
	CHECK_INT(wisp_net_start(SERVER, s), 0);
	CHECK_INT(write(fd, out, sizeof out), sizeof out);
	pump(100);
	struct linger lg = { 1, 0 };
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
	close(fd);
	m = wait_for(WISP_SOCKET_ERROR, s, NULL);
	CHECK(m != NULL);
	if (m)
		CHECK(strstr(m->data, "Connection reset by peer") != NULL);
	wisp_free(m);
	cleanup();
}

static int watch_fired;

static void on_ready(void *ud)
{
	int *fd = ud;
	char b;
	if (read(*fd, &b, 1) == 1)
		watch_fired++;
}

static void test_poll_watch(void)
{
	int p[2];
	CHECK_INT(pipe(p), 0);
	CHECK_INT(wisp_poll_watch(p[0], on_ready, &p[0]), 0);
	CHECK_INT(write(p[1], "x", 1), 1);
	uint64_t deadline = now_ms() + WAIT_MS;
	while (watch_fired == 0 && now_ms() < deadline)
		wisp_net_poll(10);
	CHECK_INT(watch_fired, 1);
	close(p[0]);
	close(p[1]);
}

static void test_addr_in_use(void)
{
	int port;
	int l = listen_any(LISTENER, &port);
	errno = 0;
	CHECK_INT(wisp_net_listen(LISTENER, "127.0.0.1", port, 16), -1);
	CHECK_INT(errno, EADDRINUSE);
	CHECK(wisp_net_port(l) == port);
	cleanup();
}

static void test_ipv6(void)
{
	int c, s;
	int l = wisp_net_listen(LISTENER, "::1", 0, 16);
	if (l < 0) {
		fprintf(stderr, "test_ipv6: no ::1 here (%s), skipped\n", strerror(errno));
		return;
	}
	int port = wisp_net_port(l);
	c = wisp_net_connect(CLIENT, "::1", port);
	CHECK(c > 0);
	struct wisp_socket_msg *m = wait_for(WISP_SOCKET_ACCEPT, l, NULL);
	CHECK(m != NULL);
	if (m) {
		char want[64];
		snprintf(want, sizeof want, "[::1]:%d", wisp_net_port(c));
		CHECK_STR(m->data, want);
		s = m->ud;
		CHECK_INT(wisp_net_start(SERVER, s), 0);
		CHECK_INT(wisp_net_write(c, "six", 3), 0);
		expect_text(s, "six");
	}
	wisp_free(m);
	cleanup();
}

/* With every fd taken, a pending connection is accepted and closed (the
 * client sees EOF) instead of spinning; afterwards accepting works again. */
static void test_emfile(void)
{
	int port, c, s, fds[256], nfds = 0;
	int l = listen_any(LISTENER, &port);
	int fd = plain_connect(port);
	struct rlimit old, low;
	getrlimit(RLIMIT_NOFILE, &old);
	low = old;
	low.rlim_cur = 64;
	CHECK_INT(setrlimit(RLIMIT_NOFILE, &low), 0);
	while (nfds < 256 && (fds[nfds] = dup(fd)) >= 0)
		nfds++;
	CHECK(nfds < 256);
	pump(50);
	CHECK_INT(wisp_net_poll(0), 0);
	CHECK(take(WISP_SOCKET_ACCEPT, l, NULL) == NULL);
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	CHECK_INT(poll(&pfd, 1, WAIT_MS), 1);
	char b;
	CHECK(recv(fd, &b, 1, MSG_DONTWAIT) <= 0);
	close(fd);
	while (nfds > 0)
		close(fds[--nfds]);
	setrlimit(RLIMIT_NOFILE, &old);
	connect_to(l, port, CLIENT, &c, &s);
	CHECK(s > 0);
	cleanup();
}

int main(void)
{
	CHECK_INT(wisp_net_init(LIMIT, collect), 0);
	RUN(test_echo);
	RUN(test_accept_carries_peer);
	RUN(test_no_read_before_start);
	RUN(test_write_while_connecting);
	RUN(test_connect_refused);
	RUN(test_bad_address);
	RUN(test_write_limit);
	RUN(test_set_limit);
	RUN(test_close_flushes);
	RUN(test_peer_close);
	RUN(test_half_close_flushes);
	RUN(test_reset_before_start);
	RUN(test_write_to_closed_peer);
	RUN(test_drop_owner);
	RUN(test_stale_id);
	RUN(test_ids_not_reused);
	RUN(test_many_sockets);
	RUN(test_big_transfer);
	RUN(test_read_limit);
	RUN(test_read_limit_close);
	RUN(test_poll_watch);
	RUN(test_addr_in_use);
	RUN(test_ipv6);
	RUN(test_emfile);
	wisp_net_exit();
	clear_events();
	free(events);
	return TEST_END();
}
