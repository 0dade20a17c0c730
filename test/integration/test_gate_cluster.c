/* test_gate_cluster.c: clients of a net node served by a game node, each
 * node a real wisp process on loopback (test/gate_cluster/cluster.lua).
 * Four clients join the room on the game node through the net node's
 * gate and get its replies, a push, a multicast and a broadcast; one is
 * kicked and one leaves, and the lobby on the game node must have heard
 * of each connect and disconnect with the right address and reason. After
 * each step the clients show that they got nothing more: an echo's reply
 * must be the next frame each reads. Every wait is bounded, and every node
 * is stopped (or killed) at the end. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include "proc.h"
#include "testlib.h"
#include "wisp_client.h"

#define NODE_PORTS 4 /* the root's, net's and game's harbors; the gate */
#define GATE_OFFSET 3
#define NET_ID 2
#define CLIENTS 4
#define START_MS 20000
#define FRAME_MS 5000
#define EVENTS_MS 5000
#define TEXT_MAX 256

/* room.lua's commands and the frames it sends; lobby.lua's command */
enum { JOIN = 1001, ECHO, SLOW_ECHO, PUSH, MULTICAST, BROADCAST, KICK };
enum { PUSHED = 2001, MULTICASTED, BROADCASTED };
enum { EVENTS = 1100 };

static const struct wisp_client_proto proto = {
	.magic = { 'W', 'G', 'C', 'T' },
	.proto_version = 2,
	.server_version = 7,
	.max_body = 4096,
};

struct client {
	const char *name;
	struct wisp_cli *cli;    /* NULL once it has gone */
	unsigned long long conn; /* as the game node knows it */
	int port;                /* its own port: its address at the gate */
};

static struct client clients[CLIENTS] = {
	{ .name = "c1" }, { .name = "c2" }, { .name = "c3" }, { .name = "c4" },
};
static struct client *const c1 = &clients[0], *const c2 = &clients[1];
static struct client *const c3 = &clients[2], *const c4 = &clients[3];

static const char *wisp_exe;
static char conf[512], port_base[64];
static int gate_port;
static struct proc procs[3]; /* root, game, net */

static struct proc *start_node(int i, const char *node)
{
	char *args[] = { (char *)wisp_exe, conf, (char *)node, NULL };
	char *env[] = { port_base, NULL };
	procs[i].label = node;
	return proc_start(&procs[i], args, env) == 0 ? &procs[i] : NULL;
}

static int wait_marker(const struct proc *p, const char *text)
{
	if (proc_wait_output(p, text, START_MS))
		return 1;
	fprintf(stderr, "no \"%s\" from %s within %d ms\n", text, p->label,
		START_MS);
	test_failures++;
	return 0;
}

/* The game node first, so that its room and lobby are there when the
 * gate's first messages come. */
static int start_cluster(void)
{
	struct proc *root = start_node(0, "root");
	struct proc *game = start_node(1, "game");
	if (!root || !game || !wait_marker(game, "READY room")
		|| !wait_marker(game, "READY lobby"))
		return 0;
	struct proc *net = start_node(2, "net");
	return net && wait_marker(net, "gate listening for clients");
}

/* ---- talking as a client; each failure is counted and said ---- */

static int send_frame(struct client *c, uint32_t command, const char *body)
{
	if (wisp_cli_send(c->cli, command, body, strlen(body), FRAME_MS) == 0)
		return 0;
	fprintf(stderr, "%s: sending command %u: %s\n", c->name, command,
		wisp_cli_error(c->cli));
	test_failures++;
	return -1;
}

/* Reads c's next frame into text (NUL-terminated); its command, or 0. */
static uint32_t next_frame(struct client *c, char *text)
{
	struct wisp_client_frame f;
	if (wisp_cli_recv(c->cli, &f, FRAME_MS) != 1) {
		fprintf(stderr, "%s: no frame: %s\n", c->name, wisp_cli_error(c->cli));
		test_failures++;
		return 0;
	}
	size_t n = f.size < TEXT_MAX - 1 ? f.size : TEXT_MAX - 1;
	memcpy(text, f.body, n);
	text[n] = '\0';
	return f.command;
}

/* c's next frame must be this one. */
static int expect(struct client *c, uint32_t command, const char *body)
{
	char text[TEXT_MAX];
	uint32_t got = next_frame(c, text);
	if (got == 0)
		return -1;
	if (got == command && strcmp(text, body) == 0)
		return 0;
	fprintf(stderr, "%s read command %u \"%s\", want %u \"%s\"\n", c->name,
		got, text, command, body);
	test_failures++;
	return -1;
}

/* An echo whose reply must be c's next frame: nothing else came to c. */
static void probe(struct client *c)
{
	static int serial;
	char body[64];
	snprintf(body, sizeof(body), "probe %d of %s", ++serial, c->name);
	if (send_frame(c, ECHO, body) == 0)
		expect(c, ECHO, body);
}

static void probe_all(void)
{
	for (int i = 0; i < CLIENTS; i++)
		if (clients[i].cli)
			probe(&clients[i]);
}

/* ---- the steps ---- */

static int local_port(int fd)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);
	if (getsockname(fd, (struct sockaddr *)&a, &len) < 0)
		return -1;
	return ntohs(a.sin_port);
}

/* JOIN's reply is "NAME CONN". */
static void join(struct client *c)
{
	char text[TEXT_MAX], name[TEXT_MAX];
	c->cli = wisp_cli_new(&proto);
	if (wisp_cli_connect(c->cli, "127.0.0.1", gate_port, FRAME_MS) < 0) {
		fprintf(stderr, "%s: %s\n", c->name, wisp_cli_error(c->cli));
		test_failures++;
		return;
	}
	c->port = local_port(wisp_cli_fd(c->cli));
	if (send_frame(c, JOIN, c->name) < 0)
		return;
	CHECK_INT(next_frame(c, text), JOIN);
	CHECK(sscanf(text, "%255s %llu", name, &c->conn) == 2);
	CHECK_STR(name, c->name);
}

/* Each conn names the net node's gate (its handle in the high half, the
 * net node's id in the handle's high bits) and a connection of its own. */
static void check_join(void)
{
	for (int i = 0; i < CLIENTS; i++)
		join(&clients[i]);
	for (int i = 0; i < CLIENTS; i++) {
		unsigned long long gate = clients[i].conn >> 32;
		CHECK_INT(gate >> 22, NET_ID);
		CHECK(gate == c1->conn >> 32);
		CHECK((uint32_t)clients[i].conn != 0);
		for (int j = 0; j < i; j++)
			CHECK(clients[i].conn != clients[j].conn);
	}
}

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* Asks the lobby, as asker, what it heard of about, until it says want:
 * the gate may read the question before it notices that a client has
 * just gone. */
static void lobby_says(struct client *asker, const struct client *about,
	const char *want)
{
	char conn[32], text[TEXT_MAX] = "";
	snprintf(conn, sizeof(conn), "%llu", about->conn);
	for (long long until = now_ms() + EVENTS_MS; now_ms() < until;) {
		if (send_frame(asker, EVENTS, conn) < 0
			|| next_frame(asker, text) != EVENTS)
			return;
		if (strcmp(text, want) == 0)
			return;
		usleep(20000);
	}
	fprintf(stderr, "the lobby heard of %s:\n%s\nwant:\n%s\n", about->name,
		text, want);
	test_failures++;
}

static void connect_line(const struct client *c, char *out, size_t size)
{
	snprintf(out, size, "connect 127.0.0.1:%d", c->port);
}

static void check_connect_events(void)
{
	char want[64];
	for (int i = 0; i < CLIENTS; i++) {
		connect_line(&clients[i], want, sizeof(want));
		lobby_says(c1, &clients[i], want);
	}
}

/* Replies go to the client that asked, with its command, even when the
 * handler slept meanwhile and another's was answered first. */
static void check_replies(void)
{
	char body[CLIENTS][32];
	for (int i = 0; i < CLIENTS; i++) {
		snprintf(body[i], sizeof(body[i]), "hello from %s", clients[i].name);
		send_frame(&clients[i], ECHO, body[i]);
	}
	for (int i = CLIENTS; i-- > 0;)
		expect(&clients[i], ECHO, body[i]);
	send_frame(c1, SLOW_ECHO, "slow for c1");
	send_frame(c2, ECHO, "fast for c2");
	expect(c2, ECHO, "fast for c2");
	expect(c1, SLOW_ECHO, "slow for c1");
	probe_all();
}

static void check_push(void)
{
	send_frame(c1, PUSH, "c3");
	expect(c3, PUSHED, "to c3");
	probe_all();
}

static void check_multicast(void)
{
	send_frame(c2, MULTICAST, "c1 c3");
	expect(c1, MULTICASTED, "to c1 c3");
	expect(c3, MULTICASTED, "to c1 c3");
	probe_all();
}

static void check_broadcast(void)
{
	send_frame(c4, BROADCAST, "to everyone");
	for (int i = 0; i < CLIENTS; i++)
		expect(&clients[i], BROADCASTED, "to everyone");
	probe_all();
}

static void expect_closed(struct client *c)
{
	struct wisp_client_frame f;
	int r = wisp_cli_recv(c->cli, &f, FRAME_MS);
	const char *why = wisp_cli_error(c->cli);
	if (r != -1 || why == NULL || strcmp(why, "closed by server") != 0) {
		fprintf(stderr, "%s: recv gave %d (%s), want the server's close\n",
			c->name, r, why ? why : "no error");
		test_failures++;
	}
	wisp_cli_free(c->cli);
	c->cli = NULL;
}

/* c2 is kicked; a push to it afterwards is dropped, and only that. */
static void check_kick(void)
{
	char want[128];
	send_frame(c1, KICK, "c2");
	expect_closed(c2);
	connect_line(c2, want, sizeof(want));
	strcat(want, "\ndisconnect kicked: by the room");
	lobby_says(c1, c2, want);
	send_frame(c3, PUSH, "c2");
	probe_all();
}

/* c4 leaves; the broadcast after reaches those left. */
static void check_leave(void)
{
	char want[128];
	wisp_cli_free(c4->cli);
	c4->cli = NULL;
	connect_line(c4, want, sizeof(want));
	strcat(want, "\ndisconnect closed by the client");
	lobby_says(c1, c4, want);
	send_frame(c3, BROADCAST, "to those left");
	expect(c1, BROADCASTED, "to those left");
	expect(c3, BROADCASTED, "to those left");
	probe_all();
}

/* Each step builds on the one before: the first to fail ends the run. */
static void run_steps(void)
{
	static const struct test_step steps[] = {
		{ "join", check_join }, { "connect events", check_connect_events },
		{ "replies", check_replies }, { "push", check_push },
		{ "multicast", check_multicast }, { "broadcast", check_broadcast },
		{ "kick", check_kick }, { "leave", check_leave },
	};
	RUN_STEPS(steps);
}

/* Stops net, game, root in turn: each must exit 0, having logged no
 * error. */
static void stop_cluster(void)
{
	for (int i = 3; i-- > 0;) {
		if (procs[i].running)
			CHECK_INT(proc_stop_clean(&procs[i], 10000), 0);
	}
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: test_gate_cluster WISP SOURCE_ROOT\n");
		return 2;
	}
	wisp_exe = argv[1];
	snprintf(conf, sizeof(conf), "%s/test/gate_cluster/cluster.lua", argv[2]);
	int base = free_port_run(NODE_PORTS);
	CHECK(base > 0);
	gate_port = base + GATE_OFFSET;
	snprintf(port_base, sizeof(port_base), "WISP_PORT_BASE=%d", base);
	proc_guard(procs, 3, 100); /* under meson's timeout of 120 s */

	if (base > 0 && start_cluster())
		run_steps();
	for (int i = 0; i < CLIENTS; i++)
		if (clients[i].cli)
			wisp_cli_free(clients[i].cli);
	stop_cluster();
	proc_kill_all();
	if (test_failures)
		for (int i = 0; i < 3; i++)
			proc_dump(&procs[i]);
	for (int i = 0; i < 3; i++)
		proc_cleanup(&procs[i]);
	return TEST_END();
}
