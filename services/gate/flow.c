/* flow.c: the commands each client has in flight, flow control and
 * order, and how each command ends for the client. Each frame goes to its
 * service as a request with a session of the gate's (forward.c); its
 * command is in flight until the service answers that session (a reply
 * for the gate to write, or none), an ERROR ends it, or
 * gate.reply_timeout passes. A command that ends without a reply is told
 * to its client in an error frame (CLIENT.md), unless
 * gate.error_command is false.
 * A client's frames go on in the order sent, and an ordered one (the
 * default for a route) only when none of the client's is in flight, and
 * none after it until it ends; past gate.max_inflight none at all. A
 * frame that may not go yet is decoded no further: it and what follows
 * wait in the client's backlog, and the socket layer stops reading it
 * once GATE_READ_AHEAD bytes are unused, so TCP makes the client wait. As
 * commands end the backlog is decoded first, and reading resumes as it
 * empties. So what one client can make the node hold is bounded by those
 * two numbers, however fast it sends, and what all of them hold by
 * gate.partial_budget. */
#include <stdio.h>
#include <string.h>
#include "clock.h"
#include "gate_service.h"
#include "histogram.h"
#include "log.h"
#include "socket.h"

/* A command in flight: found by its session (gate.cmds); listed oldest
 * first for the reply timeout, which is the same for all, so the order
 * they were sent in is their deadlines' and the sweep only looks at the
 * head; and on its client's list, so that a client that goes takes its
 * commands along. */
struct gate_cmd {
	struct gate_cmd *older, *newer;
	struct gate_cmd *prev, *next; /* the client's */
	struct gate_conn *conn;
	uint64_t deadline_ms;
	uint64_t sent_ticks; /* when it went to its service (wisp_ticks) */
	uint32_t command;
	uint32_t request; /* the client's id for it (gate.request_ids) */
	int session;
	int ordered;
};

/* Bytes of a client's not decoded yet, as their frame may not go yet:
 * data[off, off + len). At most GATE_READ_AHEAD, as the socket is not
 * read beyond that. */
struct gate_backlog {
	size_t off, len, cap;
	uint8_t data[];
};

#define BACKLOG_MIN 1024

int wisp_gate_flow_open(const struct gate *g, const struct gate_conn *c)
{
	return c->backlog == NULL && c->inflight < g->cfg->max_inflight;
}

/* An ordered command in flight lets nothing of its client pass it. */
static int may_send(const struct gate *g, const struct gate_conn *c,
	uint32_t command)
{
	if (c->ordered)
		return 0;
	if (wisp_gate_route_ordered(g, command))
		return c->inflight == 0;
	return c->inflight < g->cfg->max_inflight;
}

/* A header not yet whole is taken in only when nothing is in flight: its
 * frame may turn out ordered, and must not then wait inside the decoder,
 * where gate.frame_timeout would count the wait against the client. */
int wisp_gate_flow_next(const struct gate *g, const struct gate_conn *c,
	const uint8_t *data, size_t size)
{
	uint32_t command;
	int known = wisp_client_peek(&c->dec, data, size, &command);
	if (known < 0)
		return 1; /* a bad header: the decoder says so */
	return known ? may_send(g, c, command) : c->inflight == 0;
}

/* A backlog with room for size more bytes after what it holds. */
static struct gate_backlog *room_for(struct gate_backlog *b, size_t size)
{
	if (b == NULL) {
		b = wisp_malloc(sizeof(*b) + BACKLOG_MIN);
		*b = (struct gate_backlog){ 0, 0, BACKLOG_MIN };
	}
	if (b->off + b->len + size <= b->cap)
		return b;
	memmove(b->data, b->data + b->off, b->len);
	b->off = 0;
	size_t cap = b->cap;
	while (cap < b->len + size)
		cap *= 2;
	if (cap > b->cap) {
		b = wisp_realloc(b, sizeof(*b) + cap);
		b->cap = cap;
	}
	return b;
}

/* A client sends faster than its commands are served: a pipelining
 * client may, so this is news, not a warning. */
static void held(struct gate *g, struct gate_conn *c)
{
	g->stats.throttled++;
	if (wisp_gate_may_warn(g, GATE_WARN_HELD))
		wisp_log(g->ctx, WISP_LOG_INFO, "client %s (conn %d) held: "
			"gate.max_inflight (%u) commands in flight; it is read again "
			"as they end", c->addr, c->id, g->cfg->max_inflight);
}

/* Bytes of c's that wait for a free slot, behind any waiting already.
 * They count against gate.partial_budget, with the unfinished frames: a
 * crowd of held clients must not hold more than it. */
static void keep(struct gate *g, struct gate_conn *c, const uint8_t *data,
	size_t size)
{
	if (c->backlog == NULL && c->inflight >= g->cfg->max_inflight)
		held(g, c);
	struct gate_backlog *b = c->backlog = room_for(c->backlog, size);
	memcpy(b->data + b->off + b->len, data, size);
	b->len += size;
	g->partial_bytes += size;
	size_t budget = g->cfg->partial_budget;
	if (budget && g->partial_bytes > budget)
		wisp_gate_over_budget(g, c);
}

static void drain(struct gate *g, struct gate_conn *c);

/* With a backlog, the new bytes join it; they may complete the header
 * that decides whether its frame can go now. */
void wisp_gate_flow_in(struct gate *g, struct gate_conn *c,
	const uint8_t *data, size_t size)
{
	int id = c->id;
	if (c->backlog) {
		keep(g, c, data, size);
		if ((c = wisp_gate_conn(g, (uint32_t)id)) != NULL)
			drain(g, c);
		return;
	}
	long used = wisp_gate_decode(g, c, data, size);
	if (used < 0)
		return;
	wisp_gate_consumed(c, (size_t)used);
	if ((size_t)used < size)
		keep(g, c, data + used, size - (size_t)used);
}

/* Decodes c's backlog as far as order and its free slots allow; the
 * socket is read again as it empties. */
static void drain(struct gate *g, struct gate_conn *c)
{
	struct gate_backlog *b = c->backlog;
	long used = wisp_gate_decode(g, c, b->data + b->off, b->len);
	if (used < 0)
		return; /* c is closed, its backlog freed with it */
	wisp_gate_consumed(c, (size_t)used);
	b->off += (size_t)used;
	b->len -= (size_t)used;
	g->partial_bytes -= (size_t)used;
	if (b->len == 0) {
		wisp_free(b);
		c->backlog = NULL;
	}
}

void wisp_gate_flow_sent(struct gate *g, struct gate_conn *c, int session,
	uint32_t command)
{
	struct gate_cmd *cmd = wisp_malloc(sizeof(*cmd));
	*cmd = (struct gate_cmd){ .older = g->newest, .next = c->cmds, .conn = c,
		.deadline_ms = wisp_now() + g->cfg->reply_timeout_ms,
		.sent_ticks = wisp_ticks(), .command = command, .request = c->request, .session = session,
		.ordered = wisp_gate_route_ordered(g, command) };
	c->ordered |= cmd->ordered;
	if (g->newest)
		g->newest->newer = cmd;
	else
		g->oldest = cmd;
	g->newest = cmd;
	if (c->cmds)
		c->cmds->prev = cmd;
	c->cmds = cmd;
	c->inflight++;
	wisp_keymap_put(&g->cmds, (uint32_t)session, cmd);
}

/* Takes cmd out of every list and frees its slot. */
static void unlink_cmd(struct gate *g, struct gate_cmd *cmd)
{
	struct gate_conn *c = cmd->conn;
	wisp_keymap_remove(&g->cmds, (uint32_t)cmd->session);
	if (cmd->older)
		cmd->older->newer = cmd->newer;
	else
		g->oldest = cmd->newer;
	if (cmd->newer)
		cmd->newer->older = cmd->older;
	else
		g->newest = cmd->older;
	if (cmd->prev)
		cmd->prev->next = cmd->next;
	else
		c->cmds = cmd->next;
	if (cmd->next)
		cmd->next->prev = cmd->prev;
	c->inflight--;
	if (cmd->ordered)
		c->ordered = 0;
	wisp_free(cmd);
}

/* The time from a command's forwarding to its end (an answer, a failure
 * or its timeout), by command id: routes bound the ids, the histogram
 * the label values. */
static void observe(const struct gate_cmd *cmd)
{
	static struct wisp_histogram *commands;
	char label[16];
	if (commands == NULL)
		commands = wisp_histogram("wisp_client_command_seconds", "Time from "
			"a client's command to its end (a reply, an error, a timeout), "
			"by command id.", "command");
	char *at = label + sizeof(label) - 1; /* the id's digits, no printf */
	uint32_t v = cmd->command;
	*at = '\0';
	do
		*--at = (char)('0' + v % 10);
	while ((v /= 10) != 0);
	wisp_histogram_observe(commands, at, wisp_ticks() - cmd->sent_ticks);
}

/* Ends cmd. A client that was held at its limit was not being read, so
 * its silence counts from now. The debug line is the net node's line of
 * the command's trace (README, "Traces"). */
static void end_cmd(struct gate *g, struct gate_cmd *cmd)
{
	struct gate_conn *c = cmd->conn;
	observe(cmd);
	if (wisp_log_level() <= WISP_LOG_DEBUG) /* the time costs a clock read */
		wisp_log(g->ctx, WISP_LOG_DEBUG, "command %u from client %s (conn "
			"%d) ended after %.3f ms", cmd->command, c->addr, c->id,
			(double)wisp_ticks_ns(wisp_ticks() - cmd->sent_ticks) / 1e6);
	if (!wisp_gate_flow_open(g, c))
		c->last_in_ms = wisp_now();
	unlink_cmd(g, cmd);
}

/* The reason code an error frame gives for a failure of kind. The
 * unrouted are of two kinds for the client: forward.c's "no route ..."
 * and a route to no service. */
static int error_code(enum gate_failure kind, const char *why)
{
	static const uint8_t codes[GATE_FAILURES] = {
		[GATE_FAIL_UNROUTED] = WISP_CLIENT_ERR_NO_SERVICE,
		[GATE_FAIL_OVERLOADED] = WISP_CLIENT_ERR_OVERLOADED,
		[GATE_FAIL_UNREACHABLE] = WISP_CLIENT_ERR_NODE_DOWN,
		[GATE_FAIL_EXITED] = WISP_CLIENT_ERR_EXITED,
		[GATE_FAIL_HANDLER] = WISP_CLIENT_ERR_HANDLER,
		[GATE_FAIL_TIMEOUT] = WISP_CLIENT_ERR_TIMEOUT,
	};
	if (kind == GATE_FAIL_UNROUTED && strncmp(why, "no route", 8) == 0)
		return WISP_CLIENT_ERR_NO_ROUTE;
	return codes[kind];
}

/* The error frame: the code's short text, not why, which may name the
 * cluster's services and nodes and is for the log. None when
 * gate.max_body leaves no room for it: 0 then, else 1. */
static int send_error(struct gate *g, struct gate_conn *c, uint32_t command,
	uint32_t request, int code)
{
	uint8_t body[WISP_CLIENT_ERROR_HEAD + WISP_CLIENT_ERROR_TEXT_MAX];
	size_t room = wisp_gate_max_payload(g);
	size_t n = wisp_client_error_encode(body, room < sizeof(body) ? room
		: sizeof(body), command, (uint8_t)code, wisp_client_error_text(code));
	if (n)
		wisp_gate_reply(g, c, g->cfg->error_command, request, body, n);
	return n > 0;
}

/* The end of a command with no reply: counted by kind, logged at most
 * once a second for each, and told to the client, which an error frame
 * over its output limit drops as any frame would: c may be gone after. */
static void failed(struct gate *g, struct gate_conn *c, uint32_t command,
	uint32_t request, enum gate_failure kind, const char *why)
{
	g->stats.failed[kind]++;
	if (wisp_gate_may_warn(g, GATE_WARN_FAILED + kind))
		wisp_log(g->ctx, WISP_LOG_WARN, "command %u from client %s (conn %d) "
			"failed: %s", command, c->addr, c->id, why);
	if (g->cfg->error_frames
			&& send_error(g, c, command, request, error_code(kind, why)))
		g->stats.error_frames[kind]++;
}

void wisp_gate_failed(struct gate *g, struct gate_conn *c, uint32_t command,
	enum gate_failure kind, const char *why)
{
	failed(g, c, command, c->request, kind, why);
}

/* The kind of an ERROR, from the reasons the runtime and the harbor give
 * (message.c, harbor/link.c, route.c); anything else is the handler's. */
static enum gate_failure classify(const char *why)
{
	if (strncmp(why, "no service ", 11) == 0)
		return GATE_FAIL_UNROUTED;
	if (strncmp(why, "node ", 5) == 0 || strstr(why, " to node ") != NULL)
		return GATE_FAIL_UNREACHABLE;
	if (strncmp(why, "service ", 8) == 0 && strstr(why, " is overloaded"))
		return GATE_FAIL_OVERLOADED;
	if (strncmp(why, "service ", 8) == 0 && strstr(why, " exited before "))
		return GATE_FAIL_EXITED;
	return GATE_FAIL_HANDLER;
}

/* What an answer ends: the command and the client's id for it. */
struct ended {
	uint32_t command, request;
};

static void error_answer(struct gate *g, struct gate_conn *c,
	const struct ended *e, const void *msg, size_t sz)
{
	char why[200];
	snprintf(why, sizeof(why), "%.*s", (int)(sz < sizeof(why) ? sz
		: sizeof(why) - 1), msg ? (const char *)msg : "");
	failed(g, c, e->command, e->request, classify(why), why);
}

/* A RESPONSE: the reply to write, or none. */
static void answered(struct gate *g, struct gate_conn *c,
	const struct ended *e, const void *msg, size_t sz)
{
	struct wisp_gate_answer a;
	if (wisp_gate_answer_decode(msg, sz, &a) < 0)
		failed(g, c, e->command, e->request, GATE_FAIL_HANDLER, "its service "
			"answered with a malformed message");
	else if (a.size > wisp_gate_max_payload(g))
		failed(g, c, e->command, e->request, GATE_FAIL_HANDLER, "its reply "
			"is larger than gate.max_body allows");
	else if (a.kind == WISP_GATE_REPLY)
		wisp_gate_reply(g, c, e->command, e->request, a.body, a.size);
}

void wisp_gate_answer(struct gate *g, int type, int session,
	const void *msg, size_t sz)
{
	struct gate_cmd *cmd = session > 0
		? wisp_keymap_get(&g->cmds, (uint32_t)session) : NULL;
	if (cmd == NULL)
		return; /* over already: timed out, or its client has gone */
	struct gate_conn *c = cmd->conn;
	struct ended e = { cmd->command, cmd->request };
	int id = c->id;
	end_cmd(g, cmd);
	if (type == WISP_MSG_ERROR)
		error_answer(g, c, &e, msg, sz);
	else
		answered(g, c, &e, msg, sz);
	/* a frame to a client over its output limit drops it */
	if ((c = wisp_gate_conn(g, (uint32_t)id)) != NULL && c->backlog)
		drain(g, c);
}

/* One look at the oldest per tick, then one per command ended: O(1) per
 * command however many are in flight. */
void wisp_gate_flow_sweep(struct gate *g, uint64_t now_ms)
{
	char why[96];
	snprintf(why, sizeof(why), "no answer within gate.reply_timeout (%u ms)",
		g->cfg->reply_timeout_ms);
	while (g->oldest && g->oldest->deadline_ms <= now_ms) {
		struct gate_cmd *cmd = g->oldest;
		struct gate_conn *c = cmd->conn;
		uint32_t command = cmd->command, request = cmd->request;
		int id = c->id;
		end_cmd(g, cmd);
		failed(g, c, command, request, GATE_FAIL_TIMEOUT, why);
		/* what it sends gets later deadlines */
		if ((c = wisp_gate_conn(g, (uint32_t)id)) != NULL && c->backlog)
			drain(g, c);
	}
}

void wisp_gate_flow_forget(struct gate *g, struct gate_conn *c)
{
	while (c->cmds)
		unlink_cmd(g, c->cmds);
	if (c->backlog)
		g->partial_bytes -= c->backlog->len;
	wisp_free(c->backlog);
	c->backlog = NULL;
}
