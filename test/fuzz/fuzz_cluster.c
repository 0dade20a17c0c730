/* fuzz_cluster.c: proto's text parsers, which take bytes from other nodes
 * and from people. The directory's message parser must refuse what is
 * malformed, and whatever it accepts must write back to a message that
 * parses to the same thing. The same bytes as a "host:port": what the
 * parser takes without a default port it takes with one, alike, and it
 * writes back (in brackets when the host has a colon) to the same host
 * and port. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "addr.h"
#include "cluster.h"

static void check_message(const uint8_t *data, size_t size)
{
	struct wisp_cluster_cmd cmd;
	if (wisp_cluster_parse(data, size, &cmd) < 0)
		return;
	char out[WISP_CLUSTER_MAX];
	size_t n = wisp_cluster_format(&cmd, out);
	struct wisp_cluster_cmd again;
	if (wisp_cluster_parse(out, n, &again) < 0 || again.op != cmd.op
		|| again.value != cmd.value || strcmp(again.name, cmd.name) != 0
		|| memcmp(again.numbers, cmd.numbers, sizeof(cmd.numbers)) != 0)
		abort();
}

static int same(const struct wisp_addr *a, const struct wisp_addr *b)
{
	return strcmp(a->host, b->host) == 0 && a->port == b->port;
}

static void check_address(const uint8_t *data, size_t size)
{
	char text[2 * WISP_ADDR_HOST_MAX], back[WISP_ADDR_HOST_MAX + 16];
	struct wisp_addr a, with_default, again;
	if (size >= sizeof(text))
		return;
	memcpy(text, data, size);
	text[size] = '\0';
	if (wisp_addr_parse(text, 11211, &with_default) != NULL) {
		if (wisp_addr_parse(text, 0, &a) == NULL)
			abort(); /* a default port can only widen what is taken */
		return;
	}
	if (wisp_addr_parse(text, 0, &a) == NULL && !same(&a, &with_default))
		abort();
	a = with_default;
	if (a.host[0] == '\0' || a.port < 1 || a.port > 65535)
		abort();
	snprintf(back, sizeof(back), strchr(a.host, ':') ? "[%s]:%d" : "%s:%d",
		a.host, a.port);
	if (wisp_addr_parse(back, 0, &again) != NULL || !same(&a, &again))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_message(data, size);
	check_address(data, size);
	return 0;
}
