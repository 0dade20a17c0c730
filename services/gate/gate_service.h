/* gate_service.h: the gate, the service a net node runs to hold client
 * connections. service.c owns its life and messages, conn.c the
 * connections (reading, limits, closing), forward.c what goes to services
 * (frames by command id, connects and disconnects), push.c what services
 * send to clients. */
#ifndef WISP_GATE_SERVICE_H
#define WISP_GATE_SERVICE_H

#include <stddef.h>
#include <stdint.h>
#include "client.h"
#include "gate.h"
#include "config.h"
#include "keymap.h"
#include "wisp.h"

/* One client. Kept small: a net node holds tens of thousands. */
struct gate_conn {
	int id;            /* the socket's id, and the conn id services see */
	uint32_t index;    /* in gate.list */
	uint64_t last_in_ms;
	uint64_t tokens;   /* rate limit: frames allowed now, times 1000 */
	uint64_t refill_ms;
	struct wisp_client_decoder dec;
	char addr[48];     /* the client's address, for logs and events */
};

struct gate_stats {
	uint64_t accepted, refused;
	uint64_t frames_in, frames_out, bytes_in, bytes_out;
	uint64_t bad_frames, slow_dropped, idle_closed, rate_closed, kicked;
	uint64_t unrouted;
};

/* Warnings that could come for every frame or connection, each logged at
 * most once a second. */
enum gate_warning {
	GATE_WARN_REFUSED,  /* past max_connections */
	GATE_WARN_UNROUTED, /* a command no service takes */
	GATE_WARN_BAD_OP,   /* a malformed message from a service */
	GATE_WARNINGS
};

struct gate {
	struct wisp_context *ctx;
	const struct wisp_gate_settings *cfg;
	struct wisp_client_proto proto;
	int listener;
	int port;                  /* the port bound */
	struct wisp_keymap by_id;  /* socket id -> struct gate_conn */
	struct gate_conn **list;   /* every conn, for broadcast and sweeps */
	uint32_t count, cap;
	int tick_session;
	uint64_t quiet_until_ms[GATE_WARNINGS]; /* each waits until then */
	struct gate_stats stats;
};

/* The gate of this node, if it runs one (for the console's counters). */
extern struct gate *wisp_gate_active;

/* conn.c */
void wisp_gate_accepted(struct gate *g, int id, const char *addr);
struct gate_conn *wisp_gate_conn(struct gate *g, uint32_t id);
void wisp_gate_data(struct gate *g, struct gate_conn *c, const uint8_t *data,
	size_t size);
/* Closes c (what is queued for it is still sent) and tells the events
 * service why. */
void wisp_gate_close(struct gate *g, struct gate_conn *c, const char *why);
/* The socket is gone already (closed by the client, failed). */
void wisp_gate_lost(struct gate *g, struct gate_conn *c, const char *why);
/* A write to c found its output over gate.output_limit. */
void wisp_gate_slow(struct gate *g, struct gate_conn *c);
/* Closes the conns silent past the idle timeout. */
void wisp_gate_sweep(struct gate *g, uint64_t now_ms);
/* 1 when a warning of this kind may be logged now. */
int wisp_gate_may_warn(struct gate *g, enum gate_warning kind);

/* forward.c */
void wisp_gate_forward(struct gate *g, struct gate_conn *c,
	const struct wisp_client_frame *f);
void wisp_gate_event(struct gate *g, struct gate_conn *c, int kind,
	const char *text);

/* push.c: a WISP_MSG_GATE message from a service */
void wisp_gate_op(struct gate *g, wisp_handle source, const void *msg,
	size_t sz);

#endif
