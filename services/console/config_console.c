/* config_console.c: the console's section of the config: each node's
 * `console` and `metrics` addresses and the top-level `console_token`
 * and `console_auth_timeout`.
 * Every node's addresses are checked, so that a mistake shows on any
 * node's --check; only the running node's are kept. An address off
 * loopback can be reached by anyone on the network, so it needs the
 * token. And the console's arguments, made from them. */
#include <lauxlib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "addr.h"
#include "check.h"
#include "console_config.h"
#include "wisp.h"

/* The addresses (the token, a string key, is freed already). */
static void free_addresses(struct wisp_console_settings *c)
{
	wisp_free(c->host);
	wisp_free(c->metrics_host);
	c->host = c->metrics_host = NULL;
}

static void console_free(void *settings)
{
	free_addresses(settings);
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
	if (!wisp_addr_is_loopback(*host) && (token == NULL || token[0] == '\0')) {
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

/* The node table on top: its addresses, kept for the running node. */
static int read_node(struct reader *r, const char *where, void *settings)
{
	struct wisp_console_settings *keep = settings;
	struct wisp_console_settings c = { 0 };
	const char *token = keep->token; /* read with the top level */
	int rc = read_address(r, where, "console", token, &c.host, &c.port) < 0
		|| read_address(r, where, "metrics", token, &c.metrics_host,
			&c.metrics_port) < 0 ? -1 : 0;
	if (rc == 0 && same_address(&c))
		rc = wisp_cfg_fail(r, "keys 'console' and 'metrics' in %s name the "
			"same address", where);
	if (rc == 0 && r->self) { /* the top-level keys stay as read */
		free_addresses(keep);
		keep->host = c.host;
		keep->port = c.port;
		keep->metrics_host = c.metrics_host;
		keep->metrics_port = c.metrics_port;
		return 0;
	}
	free_addresses(&c);
	return rc;
}

static const struct wisp_cfg_key top_keys[] = {
	{ "console_token", WISP_CFG_STRING,
		WISP_CFG_FIELD(struct wisp_console_settings, token), 0, 0, 0, NULL,
		NULL, NULL },
	/* short, or idle connections hold the few places of those not yet
	 * authenticated (console/admit.lua) */
	WISP_CFG_INT_KEY("console_auth_timeout", struct wisp_console_settings,
		auth_timeout_ms, 100, 60000, WISP_CONSOLE_AUTH_MS),
	{ NULL, 0, 0, 0, 0, 0, 0, NULL, NULL, NULL },
};

static const char *const node_keys[] = { "console", "metrics", NULL };

/* For `wisp --check`: where the node listens for operators. */
static void console_check(const void *settings, const struct wisp_config *cfg,
	struct wisp_check *c)
{
	const struct wisp_console_settings *s = settings;
	(void)cfg;
	if (s->host)
		wisp_check_listen(c, "console", s->host, s->port);
	if (s->metrics_host)
		wisp_check_listen(c, "metrics", s->metrics_host, s->metrics_port);
}

const struct wisp_cfg_section wisp_console_config = {
	.name = "console",
	.size = sizeof(struct wisp_console_settings),
	.keys = top_keys,
	.node_keys = node_keys,
	.read_node = read_node,
	.free = console_free,
	.check = console_check,
};

const struct wisp_console_settings *wisp_console_settings(
	const struct wisp_config *cfg)
{
	return wisp_config_section(cfg, &wisp_console_config);
}

/* Appends " key=HOST:PORT" when host is set. */
static size_t add_address(char *out, size_t size, size_t at, const char *key,
	const char *host, int port)
{
	if (host == NULL || at >= size)
		return at;
	return at + (size_t)snprintf(out + at, size - at, " %s=%s:%d", key, host,
		port);
}

char *wisp_console_args(const struct wisp_config *cfg)
{
	const struct wisp_console_settings *c = wisp_console_settings(cfg);
	size_t size = 512 + (c->token ? 2 * strlen(c->token) : 0), at;
	char *args = wisp_malloc(size);
	at = (size_t)snprintf(args, size, "console.service auth_ms=%u",
		(unsigned)c->auth_timeout_ms);
	at = add_address(args, size, at, "console", c->host, c->port);
	at = add_address(args, size, at, "metrics", c->metrics_host,
		c->metrics_port);
	if (c->token && c->token[0] && at + 7 < size) {
		at += (size_t)snprintf(args + at, size - at, " token=");
		for (const char *t = c->token; *t && at + 2 < size; t++)
			at += (size_t)snprintf(args + at, size - at, "%02x",
				(unsigned char)*t);
	}
	return args;
}
