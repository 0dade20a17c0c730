/* gate_config.h: the gate's section of the config (config_gate.c): the
 * client protocol (which clients must match), where it listens, its
 * limits and where frames go. Set by a top-level `gate` table and, key by
 * key over it, the net node's own. */
#ifndef WISP_GATE_CONFIG_H
#define WISP_GATE_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include "config.h"
#include "config_reader.h"

/* Client frames with a command id in [first, last] go to service, a name
 * or "name@node"; an ordered one only when the client has no command in
 * flight (and none of its later frames go on before it ends). */
struct wisp_command_route {
	uint32_t first, last;
	char *service;
	int ordered;
};

struct wisp_gate_settings {
	char *host;                /* NULL: no listen address given */
	int port;
	char *ws_host;             /* WebSocket clients' (ws.c); NULL: none */
	int ws_port;
	char **ws_origins;         /* Origins allowed; NULL: any (and none) */
	size_t ws_origin_count;
	char *tls_cert;            /* gate.tls's PEM files (tls.c); NULL: */
	char *tls_key;             /* plaintext clients */
	uint8_t magic[4];
	uint8_t proto_version;
	uint32_t server_version;
	uint32_t max_body;         /* largest frame body, both directions */
	uint32_t max_connections;
	size_t output_limit;       /* bytes queued for one client at most */
	uint32_t idle_timeout_ms;  /* a client silent this long is closed; 0 */
	uint32_t rate_limit;       /* frames/s per client, 0 for none */
	uint32_t rate_burst;       /* frames a client may send at once */
	uint32_t frame_timeout_ms; /* a frame begun must be whole by then; 0 */
	uint32_t first_frame_timeout_ms; /* from connect to a whole frame; 0 */
	uint32_t max_per_address;  /* clients from one address; 0 for any */
	size_t partial_budget;     /* bytes of unfinished frames, node-wide; 0 */
	uint32_t max_inflight;     /* a client's commands not yet answered */
	uint32_t reply_timeout_ms; /* a command not answered by then is over */
	int error_frames;          /* a failed command is told to its client */
	uint32_t error_command;    /* the command id of those error frames */
	int request_ids;           /* each body starts with a request id */
	char *events;              /* told of connects and disconnects, or NULL */
	struct wisp_command_route *routes; /* sorted, not overlapping */
	size_t route_count;
};

extern const struct wisp_cfg_section wisp_gate_config;

/* cfg's gate settings; NULL if the section was not registered when cfg
 * was read. */
const struct wisp_gate_settings *wisp_gate_settings(
	const struct wisp_config *cfg);
/* The route of a command id in g, or NULL when none covers it. */
const struct wisp_command_route *wisp_gate_settings_route(
	const struct wisp_gate_settings *g, uint32_t command);

#endif
