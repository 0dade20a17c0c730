/* harbor_config.h: the harbor's section of the config (config_harbor.c),
 * the top-level `harbor` table: heartbeat and timeout of links, frame and
 * buffer limits, compression, and whether peers on this host link over a
 * Unix socket. The nodes' harbor addresses are the runtime's (config.h):
 * they say which node a process is. */
#ifndef WISP_HARBOR_CONFIG_H
#define WISP_HARBOR_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include "config.h"
#include "config_reader.h"

struct wisp_harbor_settings {
	uint32_t heartbeat_ms;     /* a ping on a quiet link this often */
	uint32_t timeout_ms;       /* a peer silent this long is down */
	size_t max_frame;          /* larger frames close the link */
	size_t compress_threshold; /* payloads this big are compressed */
	size_t buffer_limit;       /* output a link may hold */
	int same_host;             /* peers on this host over a Unix socket */
};

extern const struct wisp_cfg_section wisp_harbor_config;

/* cfg's harbor settings; NULL if the section was not registered when cfg
 * was read. */
const struct wisp_harbor_settings *wisp_harbor_settings(
	const struct wisp_config *cfg);

#endif
