/* push.c: frames services send to clients (WISP_MSG_GATE ops, and the
 * replies that end commands), and kicks (proto/GATE.md). A push or reply
 * to one or a few clients is queued and leaves at the end of the round,
 * so that a client's replies in one round go out in one write; a
 * broadcast is written at once, one frame built for all.
 * Ids of clients gone since are skipped: a service learns of a close
 * through gate.events, possibly after it pushed. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "gate_service.h"
#include "socket.h"

static void bad_op(struct gate *g, wisp_handle source, const char *why)
{
	if (wisp_gate_may_warn(g, GATE_WARN_BAD_OP))
		wisp_log(g->ctx, WISP_LOG_WARN, "message from :%08x dropped: %s",
			source, why);
}

/* Writes a frame's pieces to c; a client over its output limit is gone. */
static void write_to(struct gate *g, struct gate_conn *c, const void *head,
	size_t head_size, const void *body, size_t body_size)
{
	int rc = wisp_sock_write_later(c->id, head, head_size);
	if (rc == 0 && body_size)
		rc = wisp_sock_write_later(c->id, body, body_size);
	if (rc < 0) {
		if (errno == ENOBUFS)
			wisp_gate_slow(g, c);
		return;
	}
	g->stats.frames_out++;
	g->stats.bytes_out += head_size + body_size;
}

void wisp_gate_reply(struct gate *g, struct gate_conn *c, uint32_t command,
	const void *body, size_t size)
{
	uint8_t head[WISP_CLIENT_HEADER];
	wisp_client_header(&g->proto, command, size, head);
	write_to(g, c, head, sizeof(head), body, size);
}

static void push(struct gate *g, const struct wisp_gate_op *op)
{
	uint8_t head[WISP_CLIENT_HEADER];
	wisp_client_header(&g->proto, op->command, op->size, head);
	for (uint32_t i = 0; i < op->count; i++) {
		struct gate_conn *c = wisp_gate_conn(g, wisp_gate_op_conn(op, i));
		if (c)
			write_to(g, c, head, sizeof(head), op->data, op->size);
	}
}

/* One system call per client, straight away: a frame to every client at
 * once is where latency shows. */
static void broadcast(struct gate *g, const struct wisp_gate_op *op)
{
	size_t sz;
	void *frame = wisp_client_encode(&g->proto, op->command, op->data,
		op->size, &sz);
	for (uint32_t i = g->count; i-- > 0;) {
		struct gate_conn *c = g->list[i];
		if (wisp_sock_write(c->id, frame, sz) < 0) {
			if (errno == ENOBUFS)
				wisp_gate_slow(g, c);
			continue;
		}
		g->stats.frames_out++;
		g->stats.bytes_out += sz;
	}
	wisp_free(frame);
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
		bad_op(g, source, "not a well-formed gate message");
		return;
	}
	if (op.op != WISP_GATE_KICK && op.size > g->proto.max_body) {
		bad_op(g, source, "a frame body larger than gate.max_body");
		return;
	}
	if (op.op == WISP_GATE_PUSH)
		push(g, &op);
	else if (op.op == WISP_GATE_BROADCAST)
		broadcast(g, &op);
	else
		kick(g, &op);
}
