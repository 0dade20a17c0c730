/* gate_harness.c: a gate's test node and its clients, for the tests of
 * the gate (see gate_harness.h). */
#include <stdio.h>
#include <string.h>
#include "gate_harness.h"

int gate_node_start(struct proc *p, const char *wisp, const char *conf,
	const char *name, int *port, int ms)
{
	char env_port[64], listening[64];
	*port = free_port();
	snprintf(env_port, sizeof(env_port), "WISP_GATE_PORT=%d", *port);
	char *args[] = { (char *)wisp, (char *)conf, (char *)name, NULL };
	char *env[] = { env_port, NULL };
	p->label = name;
	if (proc_start(p, args, env) < 0)
		return -1;
	snprintf(listening, sizeof(listening), "listening for clients on "
		"127.0.0.1:%d", *port);
	if (proc_wait_output(p, listening, ms))
		return 0;
	fprintf(stderr, "  %s: no \"%s\" within %d ms\n", name, listening, ms);
	return -1;
}

struct wisp_cli *gate_connect(const struct wisp_client_proto *proto,
	int port, int ms)
{
	struct wisp_cli *c = wisp_cli_new(proto);
	if (wisp_cli_connect(c, "127.0.0.1", port, ms) < 0)
		fprintf(stderr, "connect: %s\n", wisp_cli_error(c));
	return c;
}

int gate_cli_port(const struct wisp_cli *c)
{
	return tcp_local_port(wisp_cli_fd(c));
}

void gate_client_tag(char *buf, size_t n, int port)
{
	snprintf(buf, n, "client 127.0.0.1:%d ", port);
}

/* Why the last call on c failed: its error, or a timeout if it has none. */
static const char *why(const struct wisp_cli *c)
{
	return wisp_cli_error(c) ? wisp_cli_error(c) : "timed out";
}

int gate_send(struct wisp_cli *c, uint32_t command, const char *body,
	int ms)
{
	if (wisp_cli_send(c, command, body, strlen(body), ms) == 0)
		return 0;
	fprintf(stderr, "  send of command %u: %s\n", command, why(c));
	return -1;
}

int gate_expect(struct wisp_cli *c, uint32_t command, const void *body,
	size_t size, int ms)
{
	struct wisp_client_frame f;
	int r = wisp_cli_recv(c, &f, ms);
	if (r != 1) {
		fprintf(stderr, "  waiting for command %u: %s\n", command,
			r < 0 ? why(c) : "timed out");
		return -1;
	}
	int same = f.size == size && memcmp(f.body, body, size) == 0;
	if (f.command != command)
		fprintf(stderr, "  command %u, want %u\n", f.command, command);
	if (!same)
		fprintf(stderr, "  got \"%.*s\" (%u bytes), want \"%.*s\" (%zu)\n",
			(int)f.size, (const char *)f.body, f.size, (int)size,
			(const char *)body, size);
	return f.command == command && same ? 0 : -1;
}

int gate_echo(struct wisp_cli *c, uint32_t command, const char *text,
	int ms)
{
	if (gate_send(c, command, text, ms) < 0)
		return -1;
	return gate_expect(c, command, text, strlen(text), ms);
}

int gate_ask(struct wisp_cli *c, uint32_t command, const char *body,
	char *out, size_t n, int ms)
{
	struct wisp_client_frame f;
	out[0] = '\0';
	if (gate_send(c, command, body, ms) < 0)
		return -1;
	if (wisp_cli_recv(c, &f, ms) != 1 || f.command != command) {
		fprintf(stderr, "  no answer to command %u: %s\n", command, why(c));
		return -1;
	}
	snprintf(out, n, "%.*s", (int)f.size, (const char *)f.body);
	return 0;
}

int gate_closed_by_server(struct wisp_cli *c, int ms)
{
	struct wisp_client_frame f;
	int r = wisp_cli_recv(c, &f, ms);
	if (r == 1)
		fprintf(stderr, "  a frame (command %u) instead of the close\n",
			f.command);
	else if (r == 0)
		fprintf(stderr, "  still open after %d ms\n", ms);
	return r < 0;
}
