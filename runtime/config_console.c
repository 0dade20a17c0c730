/* config_console.c: the console settings of a config: each node's
 * `console` and `metrics` addresses and the top-level `console_token`.
 * Every node's addresses are checked, so that a mistake shows on any
 * node's --check; only the running node's are kept. An address off
 * loopback can be reached by anyone on the network, so it needs the
 * token. */
#include <arpa/inet.h>
#include <lauxlib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "config.h"
#include "config_reader.h"
#include "wisp.h"

void wisp_cfg_console_free(struct wisp_console_settings *c)
{
	wisp_free(c->host);
	wisp_free(c->metrics_host);
	wisp_free(c->token);
	memset(c, 0, sizeof(*c));
}

/* 127.0.0.0/8, ::1, ::ffff:127.x.y.z, or the name that always means
 * them; any other name could resolve anywhere. */
static int is_loopback(const char *host)
{
	struct in_addr v4;
	struct in6_addr v6;
	if (strcmp(host, "localhost") == 0)
		return 1;
	if (inet_pton(AF_INET, host, &v4) == 1)
		return (ntohl(v4.s_addr) >> 24) == 127;
	if (inet_pton(AF_INET6, host, &v6) != 1)
		return 0;
	return IN6_IS_ADDR_LOOPBACK(&v6)
		|| (IN6_IS_ADDR_V4MAPPED(&v6) && v6.s6_addr[12] == 127);
}

/* t[key] of the node table on top, if present, into *host and *port;
 * where names the node ("nodes.a"). */
static int read_address(struct reader *r, const char *where, const char *key,
	const char *token, char **host, int *port)
{
	char *text = NULL;
	if (wisp_cfg_string(r, where, key, &text) < 0)
		return -1;
	if (text == NULL)
		return 0;
	if (wisp_cfg_split_address(text, host, port) < 0) {
		wisp_free(text);
		return wisp_cfg_fail(r, "key '%s' in %s must be \"host:port\" (port "
			"1 to 65535)", key, where);
	}
	if (!is_loopback(*host) && (token == NULL || token[0] == '\0')) {
		int rc = wisp_cfg_fail(r, "key '%s' in %s listens on %s, not on "
			"loopback: that needs console_token in the config", key, where,
			*host);
		wisp_free(text);
		*host = NULL;
		return rc;
	}
	return 0;
}

static int same_address(const struct wisp_console_settings *c)
{
	return c->host && c->metrics_host && c->port == c->metrics_port
		&& strcmp(c->host, c->metrics_host) == 0;
}

int wisp_cfg_read_console(struct reader *r, const char *name,
	const char *token, struct wisp_console_settings *keep)
{
	char where[128];
	struct wisp_console_settings c = { 0 };
	snprintf(where, sizeof(where), "nodes.%s", name);
	int rc = read_address(r, where, "console", token, &c.host, &c.port) < 0
		|| read_address(r, where, "metrics", token, &c.metrics_host,
			&c.metrics_port) < 0 ? -1 : 0;
	if (rc == 0 && same_address(&c))
		rc = wisp_cfg_fail(r, "keys 'console' and 'metrics' in %s name the "
			"same address", where);
	if (rc == 0 && keep) {
		c.token = keep->token; /* read before, with the top level */
		*keep = c;
		return 0;
	}
	wisp_cfg_console_free(&c);
	return rc;
}
