/* harbor_config.h: the harbor's section of the config (config_harbor.c),
 * the top-level `harbor` table: heartbeat and timeout of links, frame and
 * buffer limits, compression, whether peers on this host link over a
 * Unix socket, and TLS on the links. The nodes' harbor addresses are the
 * runtime's (config.h): they say which node a process is. */
#ifndef WISP_HARBOR_CONFIG_H
#define WISP_HARBOR_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include "config.h"
#include "config_reader.h"

/* harbor.tls: absent (auto), true (psk), false (off), or a table of
 * certificates (cert). */
enum wisp_harbor_tls_mode {
	WISP_HARBOR_TLS_AUTO, /* PSK on TCP links unless every harbor address
	                       * of the config is on loopback */
	WISP_HARBOR_TLS_PSK,  /* PSK on every TCP link, loopback too */
	WISP_HARBOR_TLS_OFF,  /* plaintext: every address must be on loopback */
	WISP_HARBOR_TLS_CERT, /* mutual TLS with the cluster CA */
};

struct wisp_harbor_settings {
	uint32_t heartbeat_ms;     /* a ping on a quiet link this often */
	uint32_t timeout_ms;       /* a peer silent this long is down */
	size_t max_frame;          /* larger frames close the link */
	size_t compress_threshold; /* payloads this big are compressed */
	size_t buffer_limit;       /* output a link may hold */
	int same_host;             /* peers on this host over a Unix socket */
	int tls_mode;              /* enum wisp_harbor_tls_mode */
	/* CERT mode: this node's certificate chain and key and the cluster
	 * CA, PEM files, "{node}" in the config replaced by the node's name
	 * (one config serves every node), each checked readable at load */
	char *tls_cert, *tls_key, *tls_ca;
};

extern const struct wisp_cfg_section wisp_harbor_config;

/* cfg's harbor settings; NULL if the section was not registered when cfg
 * was read. */
const struct wisp_harbor_settings *wisp_harbor_settings(
	const struct wisp_config *cfg);

/* Whether this node's TCP links use TLS: 1, or 0 for plaintext (auto
 * with every harbor address of cfg on loopback, or off), with why saying
 * why, for the log at start; -1 with why when the settings are refused
 * (off with an address not on loopback, which the config load refuses
 * already). */
int wisp_harbor_tls_needed(const struct wisp_config *cfg,
	const struct wisp_harbor_settings *s, char *why, size_t why_size);

#endif
