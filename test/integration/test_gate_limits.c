/* test_gate_limits.c: what keeps slow or many clients from holding a
 * gate, over real TCP against the two nodes of test/gate/limits2.lua:
 * slowloris connections trickling a byte a second, closed by
 * gate.frame_timeout though never idle; connections that never finish a
 * first frame, closed by gate.first_frame_timeout; gate.max_per_address;
 * and a thousand connections each holding a large unfinished frame,
 * stopped by gate.partial_budget with the node's memory bounded. Each
 * limit closes only its offender, with a log line naming the limit,
 * while a well-behaved client keeps being answered. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>
#include "client.h"
#include "gate_harness.h"
#include "proc.h"
#include "testlib.h"
#include "wisp_client.h"

/* Client commands, as test/gate/front.lua numbers them. */
enum { ECHO = 1, WHOAMI = 2, STATUS = 3, COUNTS = 11 };
#define WAIT_MS 10000   /* the bound on any one wait for the nodes */
#define START_MS 30000  /* for a node to start, under the sanitizers too */

/* As limits2.lua configures the nodes. */
#define IDLE_MS 3000
#define FRAME_MS 5000
#define FIRST_MS 1000
#define PER_ADDRESS 4
#define BUDGET 4194304
#define BIG_BODY 65000  /* what a partial frame announces */
#define BIG_SENT 64000  /* and sends of it */
#define HOLDERS 1000    /* connections holding one each */

static const struct wisp_client_proto proto = {
	{ 'G', 'A', 'M', 'E' }, 3, 7, 65536,
};

enum { DEADLINES, BUDGETED };
static struct proc procs[2];
static int ports[2];

/* ---- clients ---- */

static struct wisp_cli *connect_to(int node)
{
	return gate_connect(&proto, ports[node], WAIT_MS);
}

/* Sends command with body; its answer's body into out (n bytes). 0 when
 * an answer of that command came. */
static int ask(struct wisp_cli *c, uint32_t command, const char *body,
	char *out, size_t n)
{
	return gate_ask(c, command, body, out, n, WAIT_MS);
}

static void echo(struct wisp_cli *c, const char *text)
{
	CHECK_INT(gate_echo(c, ECHO, text, WAIT_MS), 0);
}

/* Waits until front counts open clients connected, asking through c
 * (counted too); 1 when it did. The log cannot tell: past a few lines a
 * second, like lines are suppressed. */
static int wait_open(struct wisp_cli *c, int open)
{
	long long deadline = proc_now_ms() + 3 * WAIT_MS;
	char answer[128];
	int connects = 0, disconnects = 0;
	while (proc_now_ms() < deadline) {
		if (ask(c, COUNTS, "", answer, sizeof answer) < 0
			|| sscanf(answer, "connects %d disconnects %d", &connects,
				&disconnects) != 2)
			break;
		if (connects - disconnects == open)
			return 1;
		proc_sleep_ms(50);
	}
	fprintf(stderr, "  %d open, want %d\n", connects - disconnects, open);
	return 0;
}

/* Waits until the node holds no client of the test's but a probe. */
static void wait_settled(int node)
{
	struct wisp_cli *probe = wisp_cli_new(&proto);
	CHECK_INT(wisp_cli_connect(probe, "127.0.0.1", ports[node], WAIT_MS), 0);
	CHECK(wait_open(probe, 1));
	wisp_cli_free(probe);
}

/* A frame's header, announcing a body of size bytes, then body (which
 * may hold fewer). Its length in buf. */
static size_t build(uint8_t *buf, size_t size, const void *body, size_t n)
{
	wisp_client_header(&proto, ECHO, size, buf);
	memcpy(buf + WISP_CLIENT_HEADER, body, n);
	return WISP_CLIENT_HEADER + n;
}

/* A blocking socket to the node from source (127.0.0.1 or another
 * loopback address), with a send timeout so that no write can hang. */
static int raw_connect(int node, const char *source)
{
	struct sockaddr_in from = { .sin_family = AF_INET };
	struct sockaddr_in to = { .sin_family = AF_INET };
	struct timeval tv = { WAIT_MS / 1000, 0 };
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	inet_pton(AF_INET, source, &from.sin_addr);
	to.sin_port = htons((uint16_t)ports[node]);
	to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	if (bind(fd, (struct sockaddr *)&from, sizeof from) < 0
		|| connect(fd, (struct sockaddr *)&to, sizeof to) < 0) {
		fprintf(stderr, "  connect from %s: %s\n", source, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* A whole echo frame over a raw socket, and its answer. */
static void raw_echo(int fd, const char *text)
{
	uint8_t frame[128], back[128];
	size_t n = strlen(text), len = build(frame, n, text, n);
	CHECK_INT(tcp_write_all(fd, frame, len), 0);
	CHECK_INT(tcp_read_exact(fd, back, len, WAIT_MS), 0);
	CHECK(memcmp(back + WISP_CLIENT_HEADER, text, n) == 0);
}

/* 1 when the peer has closed fd (EOF or reset), without waiting. */
static int gone(int fd)
{
	char byte;
	ssize_t r = recv(fd, &byte, 1, MSG_DONTWAIT | MSG_PEEK);
	return r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
}

/* ---- slowloris ---- */

struct trickler {
	int fd, port;
	uint8_t frame[64];
	size_t len, sent;
	long long started, closed_at;
};

/* Logs in (a whole frame, answered), then starts a frame it will send a
 * byte at a time. */
static void trickler_start(struct trickler *t)
{
	memset(t, 0, sizeof *t);
	t->fd = raw_connect(DEADLINES, "127.0.0.1");
	t->port = tcp_local_port(t->fd);
	raw_echo(t->fd, "login");
	t->len = build(t->frame, 30, "a body of thirty bytes, slowly", 30);
	t->started = proc_now_ms();
}

/* One more byte, unless the gate has closed the connection. */
static void trickler_step(struct trickler *t)
{
	if (t->closed_at)
		return;
	if (gone(t->fd) || (t->sent < t->len
		&& send(t->fd, t->frame + t->sent++, 1, MSG_NOSIGNAL) != 1))
		t->closed_at = proc_now_ms();
}

/* Three connections trickle a frame at a byte a second: never silent for
 * gate.idle_timeout, they are closed by gate.frame_timeout; a client
 * echoing meanwhile is not touched. */
static void slowloris(void)
{
	enum { N = PER_ADDRESS - 1 };
	struct wisp_cli *normal = connect_to(DEADLINES);
	struct trickler t[N];
	char tag[64], text[32];
	echo(normal, "before");
	for (int i = 0; i < N; i++)
		trickler_start(&t[i]);
	long long deadline = proc_now_ms() + FRAME_MS + 3 * WAIT_MS;
	int open = N;
	for (int round = 0; open > 0 && proc_now_ms() < deadline; round++) {
		open = 0;
		for (int i = 0; i < N; i++) {
			trickler_step(&t[i]);
			open += t[i].closed_at == 0;
		}
		snprintf(text, sizeof text, "round %d", round);
		echo(normal, text);
		proc_sleep_ms(1000);
	}
	for (int i = 0; i < N; i++) {
		CHECK(t[i].closed_at != 0);
		/* well past the idle timeout: only the frame's deadline closed it */
		CHECK(t[i].closed_at - t[i].started > IDLE_MS + 500);
		gate_client_tag(tag, sizeof tag, t[i].port);
		CHECK(proc_wait_log(&procs[DEADLINES], tag, "closed: frame not "
			"completed within gate.frame_timeout (5000 ms)",
			WAIT_MS));
		CHECK(!proc_log_has(&procs[DEADLINES], tag,
			"gate.idle_timeout"));
		close(t[i].fd);
	}
	gate_client_tag(tag, sizeof tag, gate_cli_port(normal));
	CHECK(!proc_log_has(&procs[DEADLINES], tag, "closed"));
	echo(normal, "after");
	wisp_cli_free(normal);
	wait_settled(DEADLINES);
}

/* ---- the first frame ---- */

/* One connection sends nothing, another its first frame a byte every
 * 300 ms: both are closed by gate.first_frame_timeout, the mute one
 * before gate.idle_timeout would. A client that sent a whole frame at
 * once may then be quiet past that deadline (not past the idle one). */
static void first_frame(void)
{
	struct wisp_cli *prompt = connect_to(DEADLINES);
	int fds[2] = { raw_connect(DEADLINES, "127.0.0.1"),
		raw_connect(DEADLINES, "127.0.0.1") };
	long long start = proc_now_ms(), closed_at[2] = { 0, 0 };
	uint8_t frame[64];
	size_t len = build(frame, 30, "a first frame, sent too slowly", 30);
	char tag[64];
	echo(prompt, "at once");
	for (size_t sent = 0; !(closed_at[0] && closed_at[1])
		&& proc_now_ms() < start + 3 * WAIT_MS; proc_sleep_ms(300)) {
		for (int i = 0; i < 2; i++)
			if (!closed_at[i] && gone(fds[i]))
				closed_at[i] = proc_now_ms();
		if (!closed_at[1] && sent < len)
			send(fds[1], frame + sent++, 1, MSG_NOSIGNAL);
	}
	echo(prompt, "still here"); /* quiet since, past the deadline */
	const char *late = "closed: no whole frame within "
		"gate.first_frame_timeout (1000 ms) of connecting";
	for (int i = 0; i < 2; i++) {
		CHECK(closed_at[i] != 0);
		CHECK(closed_at[i] - start >= FIRST_MS - 200);
		gate_client_tag(tag, sizeof tag, tcp_local_port(fds[i]));
		CHECK(proc_wait_log(&procs[DEADLINES], tag, late, WAIT_MS));
		CHECK(!proc_log_has(&procs[DEADLINES], tag,
			"gate.idle_timeout"));
		close(fds[i]);
	}
	gate_client_tag(tag, sizeof tag, gate_cli_port(prompt));
	CHECK(!proc_log_has(&procs[DEADLINES], tag, "closed"));
	wisp_cli_free(prompt);
	wait_settled(DEADLINES);
}

/* ---- max_per_address ---- */

/* Four clients from 127.0.0.1 are served, a fifth is refused; one from
 * 127.0.0.2 is served meanwhile; once one of the four has gone, another
 * from 127.0.0.1 is let in. */
static void per_address(void)
{
	struct wisp_cli *c[PER_ADDRESS];
	char tag[64], text[32];
	for (int i = 0; i < PER_ADDRESS; i++) {
		c[i] = connect_to(DEADLINES);
		snprintf(text, sizeof text, "client %d", i);
		echo(c[i], text);
	}
	struct wisp_cli *extra = connect_to(DEADLINES);
	snprintf(tag, sizeof tag, "refused client 127.0.0.1:%d:",
		gate_cli_port(extra));
	CHECK(gate_closed_by_server(extra, WAIT_MS));
	CHECK(proc_wait_log(&procs[DEADLINES], tag,
		"gate.max_per_address (4) reached", WAIT_MS));
	wisp_cli_free(extra);

	int other = raw_connect(DEADLINES, "127.0.0.2");
	raw_echo(other, "from another address");
	for (int i = 0; i < PER_ADDRESS; i++)
		echo(c[i], "still served");

	wisp_cli_free(c[0]);
	CHECK(wait_open(c[1], PER_ADDRESS)); /* three, and the other's */
	c[0] = connect_to(DEADLINES);
	echo(c[0], "a place was free");
	snprintf(tag, sizeof tag, "refused client 127.0.0.1:%d:",
		gate_cli_port(c[0]));
	CHECK(!proc_log_has(&procs[DEADLINES], tag, ""));
	for (int i = 0; i < PER_ADDRESS; i++)
		wisp_cli_free(c[i]);
	close(other);
	wait_settled(DEADLINES);
}

/* ---- the partial-frame budget ---- */

/* A connection holding an unfinished frame; conn is the gate's name for
 * it, 0 if it never had one. */
struct holder {
	int fd;
	long long conn;
};

/* As many holders as this process may open, up to HOLDERS. */
static int holders_possible(void)
{
	struct rlimit rl;
	getrlimit(RLIMIT_NOFILE, &rl);
	rl.rlim_cur = rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);
	getrlimit(RLIMIT_NOFILE, &rl);
	long room = rl.rlim_cur == RLIM_INFINITY ? HOLDERS
		: (long)rl.rlim_cur - 64;
	return room < HOLDERS ? (int)room : HOLDERS;
}

/* The conn of the client on fd, asking with a whole WHOAMI frame (front
 * answers "CONN ADDRESS"); 0 if no answer came. */
static long long whoami(int fd)
{
	uint8_t frame[WISP_CLIENT_HEADER], back[WISP_CLIENT_HEADER + 64];
	long long conn = 0;
	wisp_client_header(&proto, WHOAMI, 0, frame);
	if (tcp_write_all(fd, frame, sizeof frame) < 0
		|| tcp_read_exact(fd, back, WISP_CLIENT_HEADER, WAIT_MS) < 0)
		return 0;
	uint32_t size = (uint32_t)back[11] << 8 | back[12];
	if (size < 4 || size - 4 >= 64 || tcp_read_exact(fd, back, size - 4,
		WAIT_MS) < 0)
		return 0;
	back[size - 4] = '\0';
	return sscanf((const char *)back, "%lld", &conn) == 1 ? conn : 0;
}

/* Each holder says who it is, then sends frame: a header announcing
 * BIG_BODY bytes and BIG_SENT of them. A write to a holder the gate has
 * closed fails, as it should. */
static void hold_frames(struct holder *h, int n)
{
	static uint8_t frame[WISP_CLIENT_HEADER + BIG_SENT];
	static uint8_t body[BIG_SENT];
	memset(body, 'h', sizeof body);
	size_t len = build(frame, BIG_BODY, body, sizeof body);
	for (int i = 0; i < n; i++) {
		h[i].fd = raw_connect(BUDGETED, "127.0.0.1");
		h[i].conn = h[i].fd < 0 ? 0 : whoami(h[i].fd);
		CHECK(h[i].conn != 0);
		if (h[i].conn)
			tcp_write_all(h[i].fd, frame, len);
	}
}

static int count_open(const struct holder *h, int n)
{
	int open = 0;
	for (int i = 0; i < n; i++)
		open += h[i].conn && !gone(h[i].fd);
	return open;
}

/* Waits until the gate has taken in every holder's bytes: no more than
 * the budget's worth are left open, and as many a moment later. */
static int settle_holders(const struct holder *h, int n, int fit)
{
	long long deadline = proc_now_ms() + 3 * WAIT_MS;
	int was, open = count_open(h, n);
	do {
		was = open;
		proc_sleep_ms(300);
		open = count_open(h, n);
	} while ((open > fit || open != was) && proc_now_ms() < deadline);
	return open;
}

/* How many of the closed holders front heard were closed by the budget,
 * asking through c. */
static int closed_by_budget(struct wisp_cli *c, const struct holder *h,
	int n)
{
	char body[32], answer[160];
	int closed = 0;
	for (int i = 0; i < n; i++) {
		if (h[i].conn == 0 || !gone(h[i].fd))
			continue;
		snprintf(body, sizeof body, "%lld", h[i].conn);
		if (ask(c, STATUS, body, answer, sizeof answer) < 0)
			break;
		closed += strcmp(answer, "closed partial-frame budget gate."
			"partial_budget (4194304 bytes) is full") == 0;
	}
	return closed;
}

/* After the drill, with every holder gone: a large frame in two writes
 * apart (so that the gate must buffer it) is served, so the budget got
 * back what the holders had. */
static void budget_recovered(void)
{
	static uint8_t frame[WISP_CLIENT_HEADER + BIG_BODY];
	static uint8_t body[BIG_BODY];
	struct wisp_client_frame f;
	struct wisp_cli *c = connect_to(BUDGETED);
	memset(body, 'r', sizeof body);
	size_t len = build(frame, BIG_BODY, body, sizeof body);
	CHECK_INT(tcp_write_all(wisp_cli_fd(c), frame, len / 2), 0);
	proc_sleep_ms(200);
	CHECK_INT(tcp_write_all(wisp_cli_fd(c), frame + len / 2, len - len / 2),
		0);
	CHECK_INT(wisp_cli_recv(c, &f, WAIT_MS), 1);
	CHECK(f.size == BIG_BODY && memcmp(f.body, body, BIG_BODY) == 0);
	wisp_cli_free(c);
}

/* A thousand connections each hold a 64,000-byte unfinished frame: the
 * gate keeps no more than gate.partial_budget (4 MiB) of them, closing
 * the others, and its memory stays far below the 64 MB they would hold;
 * a client echoing meanwhile is not touched. */
static void partial_budget(void)
{
	int n = holders_possible(), fit = BUDGET / BIG_BODY;
	struct holder *h = calloc((size_t)n, sizeof *h);
	struct wisp_cli *normal = connect_to(BUDGETED);
	echo(normal, "before");
	long before = proc_rss_kb(procs[BUDGETED].pid);
	hold_frames(h, n);
	echo(normal, "during");
	int open = settle_holders(h, n, fit);
	long during = proc_rss_kb(procs[BUDGETED].pid);
	int budget_closed = closed_by_budget(normal, h, n);
	printf("%d holders: %d closed by the budget, %d still open; node VmRSS "
		"%ld kB before, %ld kB during\n", n, budget_closed, open, before,
		during);
	CHECK(open >= 1 && open <= fit);
	CHECK_INT(budget_closed, n - open); /* no other reason closed them */
	CHECK(proc_wait_log(&procs[BUDGETED], "closed: partial-frame budget "
		"gate.partial_budget (4194304 bytes) is full", "", WAIT_MS));
	if (SANITIZED)
		printf("SKIP the memory bound: built with a sanitizer\n");
	else /* the budget, and as much again for everything else */
		CHECK(during - before < 2 * BUDGET / 1024 + 4096);
	for (int i = 0; i < n; i++)
		if (h[i].fd >= 0)
			close(h[i].fd);
	free(h);
	echo(normal, "after");
	wisp_cli_free(normal);
	wait_settled(BUDGETED);
	budget_recovered();
}

/* ---- the nodes ---- */

static void start_node(int node, const char *wisp, const char *root,
	const char *name)
{
	char conf[512];
	snprintf(conf, sizeof conf, "%s/test/gate/limits2.lua", root);
	CHECK_INT(gate_node_start(&procs[node], wisp, conf, name, &ports[node],
		START_MS), 0);
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: test_gate_limits WISP SOURCE_ROOT\n");
		return 2;
	}
	proc_guard(procs, 2, 110);
	start_node(DEADLINES, argv[1], argv[2], "deadlines");
	start_node(BUDGETED, argv[1], argv[2], "budget");
	if (test_failures == 0) {
		RUN(slowloris);
		RUN(first_frame);
		RUN(per_address);
		RUN(partial_budget);
	}
	for (int node = DEADLINES; node <= BUDGETED; node++) {
		CHECK_INT(proc_stop_clean(&procs[node], WAIT_MS), 0);
		if (test_failures)
			proc_dump(&procs[node]);
		proc_cleanup(&procs[node]);
	}
	return TEST_END();
}
