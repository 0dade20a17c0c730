/* test_client_ws.c: the client library's WebSocket transport
 * (tools/client/transport_ws.c) against a scripted server in a child
 * process, one connection per case: the upgrade request it sends and the
 * 101 it checks (a wrong accept, a refusal, an endless header), frames
 * sent masked, a fragmented message put together, a ping answered with
 * its pong, the server's close reported and answered, and messages that
 * are not one frame, text, or too big failing the connection (the last
 * closed with 1009). The server's own checks make its exit code. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include "testlib.h"
#include "wisp_client.h"

#define WAIT_MS 5000
#define MAX_BODY 1024

static const struct wisp_client_proto proto = {
	.magic = { 'W', 'I', 'S', 'P' },
	.proto_version = 1,
	.server_version = 1,
	.max_body = MAX_BODY,
};

static const struct wisp_cli_transport ws = { .ws = 1, .tls = NULL };

enum script { ECHO, TWO_FRAMES, TEXT, TOO_BIG, BAD_ACCEPT, REFUSE, ENDLESS };

/* ---- the server (in the child; a failed check exits 1) ---- */

static void need(int ok)
{
	if (!ok)
		_exit(1);
}

static void read_exact(int fd, void *buf, size_t n)
{
	for (size_t at = 0; at < n;) {
		ssize_t r = read(fd, (char *)buf + at, n - at);
		need(r > 0);
		at += (size_t)r;
	}
}

static void write_all(int fd, const void *buf, size_t n)
{
	need(write(fd, buf, n) == (ssize_t)n);
}

/* Reads the upgrade request; its key's accept into accept. */
static void read_request(int fd, char accept[29])
{
	char req[2048], joined[128];
	unsigned char digest[EVP_MAX_MD_SIZE];
	unsigned len;
	size_t n = 0;
	while (n < 4 || memcmp(req + n - 4, "\r\n\r\n", 4) != 0) {
		need(n < sizeof req - 1);
		read_exact(fd, req + n++, 1);
	}
	req[n] = '\0';
	need(strncmp(req, "GET / HTTP/1.1\r\n", 16) == 0);
	need(strstr(req, "\r\nUpgrade: websocket\r\n") != NULL);
	need(strstr(req, "\r\nSec-WebSocket-Version: 13\r\n") != NULL);
	const char *key = strstr(req, "\r\nSec-WebSocket-Key: ");
	need(key != NULL);
	key += 21;
	need(strcspn(key, "\r") == 24);
	snprintf(joined, sizeof joined, "%.24s258EAFA5-E914-47DA-95CA-"
		"C5AB0DC85B11", key);
	need(EVP_Digest(joined, strlen(joined), digest, &len, EVP_sha1(), NULL));
	EVP_EncodeBlock((unsigned char *)accept, digest, (int)len);
}

static void send_101(int fd, const char *accept)
{
	char head[256];
	int n = snprintf(head, sizeof head, "HTTP/1.1 101 Switching Protocols"
		"\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
		"Sec-WebSocket-Accept: %s\r\n\r\n", accept);
	write_all(fd, head, (size_t)n);
}

/* A server frame: unmasked. */
static void send_ws(int fd, int fin, int opcode, const void *data, size_t n)
{
	uint8_t head[4] = { (uint8_t)((fin ? 0x80 : 0) | opcode) };
	size_t len = 2;
	if (n < 126) {
		head[1] = (uint8_t)n;
	} else {
		head[1] = 126;
		head[2] = (uint8_t)(n >> 8);
		head[3] = (uint8_t)n;
		len = 4;
	}
	write_all(fd, head, len);
	write_all(fd, data, n);
}

/* A client frame, which must be masked and whole: its opcode, its
 * payload unmasked into buf (at most cap bytes), its size in *n. */
static int read_ws(int fd, uint8_t *buf, size_t cap, size_t *n)
{
	uint8_t head[2], mask[4];
	read_exact(fd, head, 2);
	need((head[0] & 0x80) && (head[1] & 0x80));
	*n = head[1] & 0x7f;
	need(*n < 126 && *n <= cap);
	read_exact(fd, mask, 4);
	read_exact(fd, buf, *n);
	for (size_t i = 0; i < *n; i++)
		buf[i] ^= mask[i % 4];
	return head[0] & 0x0f;
}

/* A wisp frame: command 7, body text. */
static size_t frame(uint8_t *out, const char *text)
{
	size_t n = strlen(text);
	need(wisp_client_header(&proto, 7, n, out) == 0);
	memcpy(out + WISP_CLIENT_HEADER, text, n);
	return WISP_CLIENT_HEADER + n;
}

/* The client's frame back, in two fragments after a ping, whose pong
 * must come; then a close, whose answer must come. */
static void echo(int fd)
{
	uint8_t buf[256];
	size_t n, got;
	need(read_ws(fd, buf, sizeof buf, &n) == 2);
	send_ws(fd, 1, 0x9, "hi", 2);
	send_ws(fd, 0, 0x2, buf, 10);
	send_ws(fd, 1, 0x0, buf + 10, n - 10);
	need(read_ws(fd, buf, sizeof buf, &got) == 0xa && got == 2
		&& memcmp(buf, "hi", 2) == 0);
	send_ws(fd, 1, 0x8, "\x03\xe8", 2); /* 1000 */
	need(read_ws(fd, buf, sizeof buf, &got) == 0x8);
}

static void serve(int fd, enum script script)
{
	char accept[29], big[5000];
	uint8_t buf[4096];
	if (script != ENDLESS)
		read_request(fd, accept);
	if (script == BAD_ACCEPT)
		accept[3] ^= 1;
	if (script == REFUSE) {
		write_all(fd, "HTTP/1.1 403 Forbidden\r\n\r\n", 26);
	} else if (script == ENDLESS) {
		memset(big, 'x', sizeof big);
		memcpy(big, "HTTP/1.1 101 OK\r\nX: ", 20);
		write_all(fd, big, sizeof big);
	} else {
		send_101(fd, accept);
	}
	size_t n = frame(buf, "hello"), got;
	if (script == ECHO) {
		echo(fd);
	} else if (script == TWO_FRAMES) {
		memcpy(buf + n, buf, n);
		send_ws(fd, 1, 0x2, buf, 2 * n);
	} else if (script == TEXT) {
		send_ws(fd, 1, 0x1, buf, n);
	} else if (script == TOO_BIG) {
		memset(buf, 'x', sizeof buf);
		send_ws(fd, 1, 0x2, buf, WISP_CLIENT_HEADER + MAX_BODY + 1);
		/* the close the client answers with: 1009, too big */
		need(read_ws(fd, buf, sizeof buf, &got) == 0x8 && got >= 2
			&& (buf[0] << 8 | buf[1]) == 1009);
	}
	/* until the client is done */
	while (read(fd, buf, sizeof buf) > 0)
		;
}

/* ---- the cases ---- */

struct server {
	pid_t pid;
	int port;
};

static int start(struct server *s, enum script script)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof sa;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, len) < 0
		|| listen(fd, 1) < 0
		|| getsockname(fd, (struct sockaddr *)&sa, &len) < 0)
		return -1;
	s->port = ntohs(sa.sin_port);
	s->pid = fork();
	if (s->pid == 0) {
		alarm(WAIT_MS / 1000 * 2); /* a stuck script ends */
		int conn = accept(fd, NULL, NULL);
		serve(conn, script);
		_exit(0);
	}
	close(fd);
	return s->pid > 0 ? 0 : -1;
}

/* The server's verdict once the client is gone: its exit code. */
static int verdict(struct server *s)
{
	int status;
	waitpid(s->pid, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static struct wisp_cli *client(struct server *s, enum script script)
{
	CHECK_INT(start(s, script), 0);
	struct wisp_cli *c = wisp_cli_new(&proto);
	wisp_cli_transport(c, &ws);
	return c;
}

/* error contains want. */
static void check_error(struct wisp_cli *c, const char *want)
{
	const char *e = wisp_cli_error(c);
	CHECK(e != NULL && strstr(e, want) != NULL);
	if (e == NULL || strstr(e, want) == NULL)
		fprintf(stderr, "  wanted \"%s\", got \"%s\"\n", want,
			e ? e : "(none)");
}

static void round_trip(void)
{
	struct server s;
	struct wisp_client_frame f;
	struct wisp_cli *c = client(&s, ECHO);
	CHECK_INT(wisp_cli_connect(c, "127.0.0.1", s.port, WAIT_MS), 0);
	CHECK_INT(wisp_cli_send(c, 7, "hello", 5, WAIT_MS), 0);
	CHECK_INT(wisp_cli_recv(c, &f, WAIT_MS), 1);
	CHECK_INT(f.command, 7);
	CHECK(f.size == 5 && memcmp(f.body, "hello", 5) == 0);
	CHECK_INT(wisp_cli_recv(c, &f, WAIT_MS), -1);
	check_error(c, "closed by server (WebSocket close code 1000)");
	wisp_cli_free(c);
	CHECK_INT(verdict(&s), 0);
}

/* The connection fails at connect, or at the first receive, saying why;
 * the server's checks pass. */
static void fails(enum script script, int at_connect, const char *why)
{
	struct server s;
	struct wisp_client_frame f;
	struct wisp_cli *c = client(&s, script);
	int r = wisp_cli_connect(c, "127.0.0.1", s.port, WAIT_MS);
	CHECK_INT(r, at_connect ? -1 : 0);
	if (r == 0)
		CHECK_INT(wisp_cli_recv(c, &f, WAIT_MS), -1);
	check_error(c, why);
	wisp_cli_free(c);
	CHECK_INT(verdict(&s), 0);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	round_trip();
	fails(TWO_FRAMES, 0, "not one whole frame");
	fails(TEXT, 0, "a text message");
	fails(TOO_BIG, 0, "closing it with code 1009");
	fails(BAD_ACCEPT, 1, "a wrong Sec-WebSocket-Accept");
	fails(REFUSE, 1, "refused: HTTP/1.1 403 Forbidden");
	fails(ENDLESS, 1, "exceeds 4095 bytes");
	return TEST_END();
}
