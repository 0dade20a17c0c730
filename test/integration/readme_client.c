/* readme_client.c: one game client on one connection, driven by lines, for
 * test_readme.py: `readme_client HOST:PORT` connects (default frame:
 * WISP, 1, 1, 65536), then for each line "COMMAND BODY" on stdin sends
 * that frame and prints the next frame it gets as "COMMAND BODY". Any
 * failure prints "ERROR reason" and exits 1. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "wisp_client.h"

#define WAIT_MS 10000

static const struct wisp_client_proto proto = {
	.magic = { 'W', 'I', 'S', 'P' },
	.proto_version = 1,
	.server_version = 1,
	.max_body = 65536,
};

static int fail(struct wisp_cli *c, const char *what)
{
	const char *why = c ? wisp_cli_error(c) : NULL;
	printf("ERROR %s%s%s\n", what, why ? ": " : "", why ? why : "");
	return 1;
}

/* Sends the frame of one input line, prints the frame that answers it. */
static int exchange(struct wisp_cli *c, char *line)
{
	char *body = strchr(line, ' ');
	body = body ? body + 1 : line + strlen(line);
	unsigned long command = strtoul(line, NULL, 10);
	struct wisp_client_frame f;
	if (wisp_cli_send(c, (uint32_t)command, body, strlen(body), WAIT_MS) < 0)
		return fail(c, "send");
	if (wisp_cli_recv(c, &f, WAIT_MS) != 1)
		return fail(c, "no reply");
	printf("%lu %.*s\n", (unsigned long)f.command, (int)f.size,
		(const char *)f.body);
	fflush(stdout);
	return 0;
}

int main(int argc, char **argv)
{
	char host[64], line[4096];
	int port;
	if (argc != 2 || sscanf(argv[1], "%63[^:]:%d", host, &port) != 2) {
		fprintf(stderr, "usage: readme_client HOST:PORT\n");
		return 2;
	}
	struct wisp_cli *c = wisp_cli_new(&proto);
	int rc = wisp_cli_connect(c, host, port, WAIT_MS) < 0
		? fail(c, "connect") : 0;
	while (rc == 0 && fgets(line, sizeof(line), stdin)) {
		line[strcspn(line, "\n")] = '\0';
		rc = exchange(c, line);
	}
	wisp_cli_free(c);
	return rc;
}
