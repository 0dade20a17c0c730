/* console_config.h: the console's section of the config
 * (config_console.c): each node's `console` and `metrics` addresses and
 * the top-level `console_token` and `console_auth_timeout`. */
#ifndef WISP_CONSOLE_CONFIG_H
#define WISP_CONSOLE_CONFIG_H

#include <stdint.h>
#include "config.h"
#include "config_reader.h"

/* Where operators connect (a line protocol) and where Prometheus scrapes,
 * each NULL when not given, and the token both ask for (NULL: none;
 * required when either is not on loopback). */
struct wisp_console_settings {
	char *host;          /* the console's listen address */
	int port;
	char *metrics_host;  /* the HTTP metrics endpoint's */
	int metrics_port;
	char *token;
	uint32_t auth_timeout_ms; /* to authenticate, or be closed */
};

/* console_auth_timeout's default: ms a connection to either may take to
 * authenticate (a scrape: to send its request). */
#define WISP_CONSOLE_AUTH_MS 5000

extern const struct wisp_cfg_section wisp_console_config;

/* cfg's console settings; NULL if the section was not registered when
 * cfg was read. */
const struct wisp_console_settings *wisp_console_settings(
	const struct wisp_config *cfg);
/* The console service's arguments for cfg's node (to wisp_free): its
 * script, its addresses, and the token in hex, as arguments are words
 * and a token may hold blanks. */
char *wisp_console_args(const struct wisp_config *cfg);

#endif
