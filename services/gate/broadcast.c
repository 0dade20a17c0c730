/* broadcast.c: frames to every client, written in slices between the
 * scheduler's rounds. A broadcast to 10,000 clients costs the kernel tens
 * of milliseconds of send(); written in one go it would hold the node's
 * loop that long, so each turn writes for at most SLICE_NS and the gate
 * mails itself to come back after the other services and the sockets
 * have had their round.
 * Order: broadcasts are numbered, and each client remembers the last one
 * it was given (or that was before its time). Pending broadcasts are
 * written oldest first, and any other frame to a client (a push, a reply,
 * an error frame) is preceded by the pending broadcasts it has not had,
 * so nothing a service sends later overtakes a broadcast. */
#include <errno.h>
#include <string.h>
#include "clock.h"
#include "gate_service.h"
#include "socket.h"

/* How long one turn writes: well under the gate_broadcast_stall_ms
 * target, long enough that the rounds between slices cost little. */
#define SLICE_NS 500000
/* Clients written between looks at the clock. */
#define CLOCK_EVERY 32

struct gate_broadcast {
	struct gate_broadcast *next;
	uint32_t seq;    /* its number: g->bcast_seq when it came */
	uint32_t cursor; /* g->list below this may still need it */
	size_t size;
	uint8_t frame[];
};

/* Whether c has not had broadcast seq yet (the numbers wrap). */
static int lacks(const struct gate_conn *c, uint32_t seq)
{
	return (int32_t)(seq - c->bcast_seq) > 0;
}

/* 0, or -1 when c was dropped: over gate.output_limit. */
static int send_one(struct gate *g, struct gate_conn *c,
	const struct gate_broadcast *b, int later)
{
	int rc = c->ws ? wisp_gate_ws_head(c, b->size, later) : 0;
	if (rc > 0)
		return 0; /* a WebSocket client not upgraded yet, or closing */
	if (rc == 0)
		rc = wisp_gate_write(c, b->frame, b->size, later);
	if (rc < 0) {
		if (errno == ENOBUFS)
			wisp_gate_slow(g, c);
		return -1;
	}
	g->stats.frames_out++;
	g->stats.bytes_out += b->size;
	return 0;
}

int wisp_gate_catch_up(struct gate *g, struct gate_conn *c)
{
	for (struct gate_broadcast *b = g->bcast_head; b; b = b->next) {
		if (!lacks(c, b->seq))
			continue;
		c->bcast_seq = b->seq;
		/* queued with the frame that follows: one write for both */
		if (send_one(g, c, b, 1) < 0)
			return -1;
	}
	return 0;
}

/* Writes b to the clients below its cursor until the deadline (0: none).
 * Walks down the list: a client closed meanwhile is replaced by the last
 * one, which is past the cursor already, so no client is missed. 1 when
 * b is done. */
static int write_slice(struct gate *g, struct gate_broadcast *b,
	uint64_t deadline)
{
	uint32_t n = 0;
	if (b->cursor > g->count)
		b->cursor = g->count;
	while (b->cursor > 0) {
		struct gate_conn *c = g->list[--b->cursor];
		if (lacks(c, b->seq)) {
			c->bcast_seq = b->seq;
			send_one(g, c, b, 0);
		}
		if (deadline && ++n % CLOCK_EVERY == 0 && wisp_clock_ns() >= deadline)
			return b->cursor == 0;
	}
	return 1;
}

/* Mails the gate to itself, to go on after the others' turns; -1 when
 * its mailbox refused (full). */
static int come_back(struct gate *g)
{
	if (!g->bcast_mailed
		&& wisp_send(g->ctx, wisp_self(g->ctx), WISP_MSG_TEXT, 0, NULL, 0) < 0)
		return -1;
	g->bcast_mailed = 1;
	return 0;
}

static void run(struct gate *g, uint64_t deadline)
{
	while (g->bcast_head) {
		struct gate_broadcast *b = g->bcast_head;
		if (!write_slice(g, b, deadline)) {
			if (come_back(g) == 0)
				return;
			deadline = 0; /* no way back: the rest now, as before */
			continue;
		}
		g->bcast_head = b->next;
		if (g->bcast_head == NULL)
			g->bcast_tail = NULL;
		wisp_free(b);
	}
}

void wisp_gate_broadcast_turn(struct gate *g)
{
	g->bcast_mailed = 0;
	run(g, wisp_clock_ns() + SLICE_NS);
}

void wisp_gate_broadcast_finish(struct gate *g)
{
	run(g, 0);
}

void wisp_gate_broadcast(struct gate *g, const void *head, size_t head_size,
	const void *body, size_t body_size)
{
	struct gate_broadcast *b = wisp_malloc(sizeof(*b) + head_size
		+ body_size);
	b->next = NULL;
	b->seq = ++g->bcast_seq;
	b->cursor = g->count;
	b->size = head_size + body_size;
	memcpy(b->frame, head, head_size);
	if (body_size)
		memcpy(b->frame + head_size, body, body_size);
	if (g->bcast_tail)
		g->bcast_tail->next = b;
	else
		g->bcast_head = b;
	g->bcast_tail = b;
	if (!g->bcast_mailed) /* else a slice of an earlier one is due */
		wisp_gate_broadcast_turn(g);
}

void wisp_gate_broadcast_free(struct gate *g)
{
	while (g->bcast_head) {
		struct gate_broadcast *b = g->bcast_head;
		g->bcast_head = b->next;
		wisp_free(b);
	}
	g->bcast_tail = NULL;
}
