/* push.c: frames services send to clients (WISP_MSG_GATE ops, and the
 * replies that end commands), and kicks (proto/GATE.md). A push or reply
 * to one or a few clients is queued and leaves at the end of the round,
 * so that a client's replies in one round go out in one write, after any
 * broadcast still being written that it has not had (broadcast.c). With
 * gate.request_ids each frame's body starts with the id of the request it
 * answers, 0 for a push (proto/CLIENT.md).
 * Ids of clients gone since are skipped: a service learns of a close
 * through gate.events, possibly after it pushed. Binds and session data
 * are bind.c's. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "gate_service.h"
#include "socket.h"

void wisp_gate_bad_op(struct gate *g, wisp_handle source, const char *why)
{
	if (wisp_gate_may_warn(g, GATE_WARN_BAD_OP))
		wisp_log(g->ctx, WISP_LOG_WARN, "message from :%08x dropped: %s",
			source, why);
}

/* Writes a frame's pieces to c; a client over its output limit is gone. */
static void write_to(struct gate *g, struct gate_conn *c, const void *head,
	size_t head_size, const void *body, size_t body_size)
{
	if (g->bcast_head && wisp_gate_catch_up(g, c) < 0)
		return;
	int rc = c->ws ? wisp_gate_ws_head(c, head_size + body_size, 1) : 0;
	if (rc > 0)
		return; /* a WebSocket client not upgraded yet, or closing */
	if (rc == 0)
		rc = wisp_gate_write(c, head, head_size, 1);
	if (rc == 0 && body_size)
		rc = wisp_gate_write(c, body, body_size, 1);
	if (rc < 0) {
		if (errno == ENOBUFS)
			wisp_gate_slow(g, c);
		return;
	}
	g->stats.frames_out++;
	g->stats.bytes_out += head_size + body_size;
}

size_t wisp_gate_max_payload(const struct gate *g)
{
	size_t id = g->cfg->request_ids ? WISP_CLIENT_ID_SIZE : 0;
	return g->proto.max_body > id ? g->proto.max_body - id : 0;
}

/* A frame's header and, with gate.request_ids, the request id after it
 * (0 in a push: CLIENT.md); size is the body's after the id. The bytes
 * written. */
static size_t frame_head(const struct gate *g, uint32_t command,
	uint32_t request, size_t size,
	uint8_t head[WISP_CLIENT_HEADER + WISP_CLIENT_ID_SIZE])
{
	if (!g->cfg->request_ids) {
		wisp_client_header(&g->proto, command, size, head);
		return WISP_CLIENT_HEADER;
	}
	wisp_client_header_id(&g->proto, command, request, size, head);
	return WISP_CLIENT_HEADER + WISP_CLIENT_ID_SIZE;
}

void wisp_gate_reply(struct gate *g, struct gate_conn *c, uint32_t command,
	uint32_t request, const void *body, size_t size)
{
	uint8_t head[WISP_CLIENT_HEADER + WISP_CLIENT_ID_SIZE];
	size_t n = frame_head(g, command, request, size, head);
	write_to(g, c, head, n, body, size);
}

static void push(struct gate *g, const struct wisp_gate_op *op)
{
	uint8_t head[WISP_CLIENT_HEADER + WISP_CLIENT_ID_SIZE];
	size_t n = frame_head(g, op->command, 0, op->size, head);
	for (uint32_t i = 0; i < op->count; i++) {
		struct gate_conn *c = wisp_gate_conn(g, wisp_gate_op_conn(op, i));
		if (c)
			write_to(g, c, head, n, op->data, op->size);
	}
}

static void broadcast(struct gate *g, const struct wisp_gate_op *op)
{
	uint8_t head[WISP_CLIENT_HEADER + WISP_CLIENT_ID_SIZE];
	size_t n = frame_head(g, op->command, 0, op->size, head);
	wisp_gate_broadcast(g, head, n, op->data, op->size);
}

static void kick(struct gate *g, const struct wisp_gate_op *op)
{
	char why[160];
	snprintf(why, sizeof(why), "kicked: %.*s", (int)(op->size < 120 ? op->size
		: 120), op->size ? (const char *)op->data : "");
	for (uint32_t i = 0; i < op->count; i++) {
		struct gate_conn *c = wisp_gate_conn(g, wisp_gate_op_conn(op, i));
		if (c == NULL)
			continue;
		if (g->bcast_head && wisp_gate_catch_up(g, c) < 0)
			continue; /* dropped already */
		g->stats.kicked++;
		wisp_log(g->ctx, WISP_LOG_INFO, "client %s (conn %d) %s", c->addr,
			c->id, why);
		wisp_gate_close(g, c, why);
	}
}

void wisp_gate_op(struct gate *g, wisp_handle source, const void *msg,
	size_t sz)
{
	struct wisp_gate_op op;
	if (wisp_gate_op_decode(msg, sz, &op) < 0) {
		wisp_gate_bad_op(g, source, "not a well-formed gate message");
		return;
	}
	if (op.op >= WISP_GATE_BIND) {
		wisp_gate_bind_op(g, source, &op);
		return;
	}
	if (op.op != WISP_GATE_KICK && op.size > wisp_gate_max_payload(g)) {
		wisp_gate_bad_op(g, source, "a frame body larger than gate.max_body "
			"allows");
		return;
	}
	if (op.op == WISP_GATE_PUSH)
		push(g, &op);
	else if (op.op == WISP_GATE_BROADCAST)
		broadcast(g, &op);
	else
		kick(g, &op);
}
