/* ws.c: WebSocket clients (RFC 6455) of the gate, on gate.ws_listen. A
 * connection first sends an HTTP upgrade (ws_upgrade.c), held here until
 * whole (at most WISP_WS_HEAD_MAX bytes, by gate.first_frame_timeout);
 * then wslay's event API frames it: the bytes the gate reads are fed to
 * wslay through its recv callback (no socket calls inside wslay), each
 * whole binary message, which must be exactly one wisp frame, goes on to
 * flow.c as a TCP client's bytes would, and what wslay sends (pongs,
 * closes) goes out by the gate's socket writes. Frames to the client are
 * not queued in wslay, which would copy each: the gate writes a WebSocket
 * header before each wisp frame (wisp_gate_ws_head). Until the upgrade is
 * done, services know nothing of the connection.
 * A wslay context takes some 8 KB (its read and write buffers), so a
 * client holds one only while a frame or message of its is unfinished:
 * a small walk over the frame headers (track) tells when the bytes read
 * end between whole messages, and the context goes; the next bytes get a
 * fresh one. An idle client costs the gate its conn and this struct.
 * What wslay holds of an unfinished message counts against
 * gate.partial_budget, as a TCP client's unfinished frame does. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <wslay/wslay.h>
#include "gate_service.h"
#include "socket.h"
#include "ws_upgrade.h"

#define OP_BINARY 0x2
#define OP_CLOSE 0x8
#define OP_PING 0x9
#define FIN 0x80

struct gate_ws {
	struct gate *g;
	struct gate_conn *c;
	wslay_event_context_ptr ev; /* NULL between messages */
	uint64_t payload_left;   /* of the frame being read (track) */
	uint8_t hdr[14];         /* the header of the next frame, so far */
	uint8_t hdr_have;
	uint8_t data_frame;      /* the frame being read is data, not control */
	uint8_t fin;             /* and ends its message */
	uint8_t msg_open;        /* a fragmented message is unfinished */
	size_t msg_bytes;        /* payload read of the unfinished message */
	size_t held;             /* of it, counted in gate.partial_bytes */
	uint8_t open;            /* the upgrade is done */
	char *head;              /* the upgrade request so far, when it came
	                          * in pieces */
	size_t head_len;
	const uint8_t *in;       /* the bytes being fed to wslay */
	size_t in_len;
	size_t passed;           /* of those, the payload gone on to flow.c */
	uint16_t fail_code;      /* a close to send, for why */
	const char *why;
	const char *broken;      /* the first rule of RFC 6455 a frame broke */
	uint8_t busy;            /* inside wslay_event_recv */
	uint8_t dead;            /* its conn went meanwhile */
	uint8_t pinged;          /* a ping went since the client last spoke */
	uint8_t bye;             /* a close went to the client */
};

void wisp_gate_ws_open(struct gate *g, struct gate_conn *c)
{
	struct gate_ws *ws = wisp_malloc(sizeof(*ws));
	memset(ws, 0, sizeof(*ws));
	ws->g = g;
	ws->c = c;
	c->ws = ws;
}

/* While wslay runs, the conn's going only marks it: feed() frees it. */
void wisp_gate_ws_free(struct gate_conn *c)
{
	struct gate_ws *ws = c->ws;
	c->ws = NULL;
	if (ws->busy) {
		ws->g->partial_bytes -= ws->held;
		ws->held = 0;
		ws->dead = 1;
		return;
	}
	ws->g->partial_bytes -= ws->held;
	ws->held = 0;
	if (ws->ev)
		wslay_event_context_free(ws->ev);
	wisp_free(ws->head);
	wisp_free(ws);
}

int wisp_gate_ws_pending(const struct gate_conn *c)
{
	return c->ws && !c->ws->open;
}

/* A close frame with code and why (cut to what fits in 125 bytes). */
static size_t close_frame(uint16_t code, const char *why, uint8_t out[127])
{
	size_t n = why ? strlen(why) : 0;
	if (n > 123)
		n = 123;
	out[0] = FIN | OP_CLOSE;
	out[1] = (uint8_t)(2 + n);
	out[2] = (uint8_t)(code >> 8);
	out[3] = (uint8_t)code;
	memcpy(out + 4, why, n);
	return 4 + n;
}

/* Before the socket closes: a close frame, unless one went already. */
void wisp_gate_ws_bye(struct gate_conn *c, uint16_t code, const char *why)
{
	struct gate_ws *ws = c->ws;
	if (!ws->open || ws->bye || (ws->ev && wslay_event_get_close_sent(ws->ev)))
		return;
	uint8_t frame[127];
	ws->bye = 1;
	wisp_gate_write(c, frame, close_frame(code, why, frame), 0);
}

int wisp_gate_ws_head(struct gate_conn *c, size_t size, int later)
{
	if (!c->ws->open || c->ws->bye)
		return 1;
	uint8_t h[10] = { FIN | OP_BINARY };
	size_t n = 2;
	if (size < 126)
		h[1] = (uint8_t)size;
	else if (size <= UINT16_MAX) {
		h[1] = 126;
		h[2] = (uint8_t)(size >> 8);
		h[3] = (uint8_t)size;
		n = 4;
	} else {
		h[1] = 127;
		for (int i = 0; i < 8; i++)
			h[2 + i] = (uint8_t)((uint64_t)size >> (56 - 8 * i));
		n = 10;
	}
	return wisp_gate_write(c, h, n, later);
}

void wisp_gate_ws_ping(struct gate_conn *c)
{
	static const uint8_t ping[2] = { FIN | OP_PING, 0 };
	struct gate_ws *ws = c->ws;
	if (!ws->open || ws->pinged || ws->bye)
		return;
	ws->pinged = 1;
	wisp_gate_write(c, ping, sizeof(ping), 0);
}

/* One close of a WebSocket client for a reason only it can repeat:
 * logged at most once a second (wisp_gate_may_warn). */
static void ws_close(struct gate *g, struct gate_conn *c, uint16_t code,
	const char *why)
{
	g->stats.bad_frames++;
	if (wisp_gate_may_warn(g, GATE_WARN_WS))
		wisp_log(g->ctx, WISP_LOG_WARN, "websocket client %s (conn %d) "
			"closed (%u): %s", c->addr, c->id, code, why);
	wisp_gate_ws_bye(c, code, why);
	wisp_gate_close(g, c, why);
}

/* ---- the upgrade ---- */

static void refuse_upgrade(struct gate *g, struct gate_conn *c, int status,
	const char *why)
{
	char answer[160];
	g->stats.bad_frames++;
	if (wisp_gate_may_warn(g, GATE_WARN_WS))
		wisp_log(g->ctx, WISP_LOG_WARN, "websocket client %s (conn %d) "
			"refused (HTTP %d): %s", c->addr, c->id, status, why);
	wisp_gate_write(c, answer, wisp_ws_answer_error(status, answer,
		sizeof(answer)), 0);
	wisp_gate_close(g, c, why);
}

/* gate.ws_origins: absent, any origin (and none) may connect. */
static int origin_allowed(const struct gate *g,
	const struct wisp_ws_request *req)
{
	const struct wisp_gate_settings *s = g->cfg;
	if (s->ws_origins == NULL || req->origin == NULL)
		return 1; /* no Origin: not a browser, which could send any */
	for (size_t i = 0; i < s->ws_origin_count; i++)
		if (strlen(s->ws_origins[i]) == req->origin_len
			&& memcmp(s->ws_origins[i], req->origin, req->origin_len) == 0)
			return 1;
	return 0;
}

static ssize_t on_recv(wslay_event_context_ptr ev, uint8_t *buf, size_t len,
	int flags, void *ud);
static ssize_t on_send(wslay_event_context_ptr ev, const uint8_t *data,
	size_t len, int flags, void *ud);
static void on_frame_start(wslay_event_context_ptr ev,
	const struct wslay_event_on_frame_recv_start_arg *arg, void *ud);
static void on_message(wslay_event_context_ptr ev,
	const struct wslay_event_on_msg_recv_arg *arg, void *ud);

static const struct wslay_event_callbacks callbacks = {
	.recv_callback = on_recv,
	.send_callback = on_send,
	.on_frame_recv_start_callback = on_frame_start,
	.on_msg_recv_callback = on_message,
};

/* 101, and the services told: the client is in. */
static void accept_upgrade(struct gate *g, struct gate_conn *c,
	const struct wisp_ws_request *req)
{
	struct gate_ws *ws = c->ws;
	char answer[192], text[64];
	ws->open = 1;
	wisp_free(ws->head);
	ws->head = NULL;
	wisp_gate_write(c, answer, wisp_ws_answer_101(req, answer,
		sizeof(answer)), 0);
	c->bcast_seq = g->bcast_seq; /* broadcasts before it are not its */
	snprintf(text, sizeof(text), "%s://%s", c->tls ? "wss" : "ws", c->addr);
	wisp_gate_event(g, c, WISP_GATE_OPEN, text);
}

static void feed(struct gate *g, struct gate_conn *c, const uint8_t *data,
	size_t size);

/* Bytes of the upgrade request: kept until it is whole, then answered;
 * what follows it is framed. */
static void upgrade(struct gate *g, struct gate_conn *c, const uint8_t *data,
	size_t size)
{
	struct gate_ws *ws = c->ws;
	struct wisp_ws_request req;
	const char *buf = (const char *)data;
	size_t old = ws->head_len, len = size;
	if (old) {
		size_t take = WISP_WS_HEAD_MAX - old < size
			? WISP_WS_HEAD_MAX - old : size;
		memcpy(ws->head + old, data, take);
		buf = ws->head;
		len = ws->head_len = old + take;
	}
	long n = wisp_ws_upgrade_parse(buf, len, &req);
	if (n < 0)
		return refuse_upgrade(g, c, req.status, req.reason);
	if (n == 0) {
		if (old == 0) {
			ws->head = wisp_malloc(WISP_WS_HEAD_MAX);
			memcpy(ws->head, data, size);
			ws->head_len = size;
		}
		wisp_gate_consumed(c, size);
		return;
	}
	if (!origin_allowed(g, &req))
		return refuse_upgrade(g, c, 403, "its Origin is not in "
			"gate.ws_origins");
	size_t used = (size_t)n - old; /* of data */
	wisp_gate_consumed(c, used);
	accept_upgrade(g, c, &req);
	if (used < size)
		feed(g, c, data + used, size - used);
}

/* ---- frames ---- */

static ssize_t on_recv(wslay_event_context_ptr ev, uint8_t *buf, size_t len,
	int flags, void *ud)
{
	struct gate_ws *ws = ud;
	(void)flags;
	if (ws->in_len == 0 || ws->dead || ws->fail_code) {
		wslay_event_set_error(ev, WSLAY_ERR_WOULDBLOCK);
		return -1;
	}
	size_t n = len < ws->in_len ? len : ws->in_len;
	memcpy(buf, ws->in, n);
	ws->in += n;
	ws->in_len -= n;
	return (ssize_t)n;
}

static ssize_t on_send(wslay_event_context_ptr ev, const uint8_t *data,
	size_t len, int flags, void *ud)
{
	struct gate_ws *ws = ud;
	(void)flags;
	if (ws->dead || wisp_gate_write(ws->c, data, len, 0) < 0) {
		wslay_event_set_error(ev, WSLAY_ERR_CALLBACK_FAILURE);
		return -1;
	}
	return (ssize_t)len;
}

/* A frame begun must be whole within gate.frame_timeout, as a TCP
 * client's (the sweep, conn.c). */
static void on_frame_start(wslay_event_context_ptr ev,
	const struct wslay_event_on_frame_recv_start_arg *arg, void *ud)
{
	struct gate_ws *ws = ud;
	(void)ev;
	if (arg->opcode < WSLAY_CONNECTION_CLOSE) /* data: its message ends */
		ws->msg_open = !arg->fin;            /* with its last frame */
	uint32_t limit = ws->g->cfg->frame_timeout_ms;
	if (!ws->dead && limit && ws->c->frame_due_ms == 0)
		ws->c->frame_due_ms = wisp_now() + limit;
}

/* Exactly one wisp frame: its length field (body + 4) covers the rest. */
static int one_frame(const uint8_t *msg, size_t size)
{
	if (size < WISP_CLIENT_HEADER)
		return 0;
	uint32_t len = (uint32_t)msg[9] << 24 | (uint32_t)msg[10] << 16
		| (uint32_t)msg[11] << 8 | msg[12];
	return (uint64_t)len + WISP_CLIENT_HEADER - 4 == size;
}

static void fail(struct gate_ws *ws, uint16_t code, const char *why)
{
	ws->fail_code = code;
	ws->why = why;
	wslay_event_shutdown_read(ws->ev);
}

static void on_message(wslay_event_context_ptr ev,
	const struct wslay_event_on_msg_recv_arg *arg, void *ud)
{
	struct gate_ws *ws = ud;
	(void)ev;
	if (ws->dead || ws->fail_code)
		return;
	ws->c->frame_due_ms = 0;
	if (arg->opcode == WSLAY_TEXT_FRAME)
		return fail(ws, WSLAY_CODE_UNSUPPORTED_DATA, "a text message (wisp "
			"frames come in binary messages)");
	if (arg->opcode != WSLAY_BINARY_FRAME)
		return; /* pongs count as life; wslay answers pings and closes */
	if (!one_frame(arg->msg, arg->msg_length))
		return fail(ws, WSLAY_CODE_POLICY_VIOLATION, "a binary message that "
			"is not exactly one wisp frame");
	ws->passed += arg->msg_length;
	wisp_gate_flow_in(ws->g, ws->c, arg->msg, arg->msg_length);
}

/* Why wslay itself closed, by the code it sent. */
static const char *wslay_why(uint16_t code)
{
	switch (code) {
	case WSLAY_CODE_MESSAGE_TOO_BIG:
		return "a message over gate.max_body and the frame header";
	case WSLAY_CODE_PROTOCOL_ERROR:
		return "a protocol error: an unmasked client frame, a control frame "
			"over 125 bytes or fragmented, reserved bits, or a bad "
			"continuation";
	case WSLAY_CODE_INVALID_FRAME_PAYLOAD_DATA:
		return "a close frame with bad UTF-8";
	default:
		return "a frame wslay refused";
	}
}

/* After wslay has read what there was: what it queued goes out, and a
 * close (the client's, ours or wslay's) ends the connection. */
static void settle(struct gate *g, struct gate_conn *c, int rc)
{
	struct gate_ws *ws = c->ws;
	if (ws->fail_code)
		return ws_close(g, c, ws->fail_code, ws->why);
	if (rc == WSLAY_ERR_NOMEM)
		return ws_close(g, c, WSLAY_CODE_INTERNAL_SERVER_ERROR,
			"out of memory for its message");
	/* a bad control frame comes back as rc alone, and the close wslay
	 * queued for it carries no code: ours goes instead */
	if (rc < 0)
		return ws_close(g, c, WSLAY_CODE_PROTOCOL_ERROR,
			ws->broken ? ws->broken : wslay_why(WSLAY_CODE_PROTOCOL_ERROR));
	if (wslay_event_want_write(ws->ev) && wslay_event_send(ws->ev) < 0) {
		if (errno == ENOBUFS)
			return wisp_gate_slow(g, c);
		return wisp_gate_close(g, c, "its socket failed");
	}
	if (wslay_event_get_close_received(ws->ev)) {
		ws->bye = 1;
		if (wisp_gate_may_warn(g, GATE_WARN_WS_BYE))
			wisp_log(g->ctx, WISP_LOG_INFO, "websocket client %s (conn %d) "
				"closed by the client (%u)", c->addr, c->id,
				wslay_event_get_status_code_received(ws->ev));
		return wisp_gate_close(g, c, "closed by the client");
	}
	if (wslay_event_get_close_sent(ws->ev)) {
		uint16_t code = wslay_event_get_status_code_sent(ws->ev);
		return ws_close(g, c, code, code == WSLAY_CODE_PROTOCOL_ERROR
			&& ws->broken ? ws->broken : wslay_why(code));
	}
}

/* The size of a frame header whose first two bytes are h. */
static size_t header_size(const uint8_t *h)
{
	uint8_t len = h[1] & 0x7f;
	return 2 + (len == 126 ? 2 : len == 127 ? 8 : 0) + (h[1] & 0x80 ? 4 : 0);
}

/* The first rule a client frame's header h breaks, for the log (wslay
 * closes for it), or NULL. */
static const char *broken_rule(const uint8_t *h)
{
	uint8_t op = h[0] & 0x0f;
	if (!(h[1] & 0x80))
		return "a protocol error: an unmasked client frame";
	if (h[0] & 0x70)
		return "a protocol error: reserved bits set";
	if ((op > 2 && op < 8) || op > 10)
		return "a protocol error: an unknown opcode";
	if (op >= 8 && (h[1] & 0x7f) > 125)
		return "a protocol error: a control frame over 125 bytes";
	if (op >= 8 && !(h[0] & FIN))
		return "a protocol error: a fragmented control frame";
	return NULL;
}

/* The payload of the frame being read is all there: a data frame with
 * FIN ends its message. */
static void frame_done(struct gate_ws *ws)
{
	if (ws->data_frame && ws->fin)
		ws->msg_bytes = 0;
}

/* Walks the frames in data as wslay reads them: where each header ends,
 * how much payload is left, how much of the message is read, to know
 * when the bytes end between messages and what wslay holds of one.
 * Payload is skipped, never looked at. */
static void track(struct gate_ws *ws, const uint8_t *data, size_t size)
{
	while (size) {
		if (ws->payload_left) {
			size_t skip = ws->payload_left < size ? ws->payload_left : size;
			ws->payload_left -= skip;
			ws->msg_bytes += ws->data_frame ? skip : 0;
			data += skip;
			size -= skip;
			if (ws->payload_left == 0)
				frame_done(ws);
			continue;
		}
		ws->hdr[ws->hdr_have++] = *data++;
		size--;
		if (ws->hdr_have < 2 || ws->hdr_have < header_size(ws->hdr))
			continue;
		uint8_t len = ws->hdr[1] & 0x7f;
		size_t end = len == 126 ? 4 : len == 127 ? 10 : 2;
		uint64_t n = len < 126 ? len : 0;
		for (size_t i = 2; i < end; i++)
			n = n << 8 | ws->hdr[i];
		ws->payload_left = n;
		ws->hdr_have = 0;
		if (ws->broken == NULL)
			ws->broken = broken_rule(ws->hdr);
		ws->data_frame = (ws->hdr[0] & 0x0f) < OP_CLOSE;
		ws->fin = (ws->hdr[0] & FIN) != 0;
		if (n == 0)
			frame_done(ws);
	}
}

/* What wslay holds of c's unfinished message, into gate.partial_bytes;
 * past gate.partial_budget, c goes (wisp_gate_over_budget). */
static void account(struct gate *g, struct gate_conn *c)
{
	struct gate_ws *ws = c->ws;
	size_t was = ws->held, budget = g->cfg->partial_budget;
	ws->held = ws->msg_bytes;
	g->partial_bytes = g->partial_bytes - was + ws->held;
	if (ws->held > was && budget && g->partial_bytes > budget)
		wisp_gate_over_budget(g, c);
}

/* A context for the frames to come, or -1 (c closed) without memory. */
static int context(struct gate *g, struct gate_conn *c)
{
	struct gate_ws *ws = c->ws;
	if (ws->ev)
		return 0;
	if (wslay_event_context_server_init(&ws->ev, &callbacks, ws) != 0) {
		ws->ev = NULL;
		ws_close(g, c, WSLAY_CODE_INTERNAL_SERVER_ERROR, "out of memory "
			"for its frames");
		return -1;
	}
	wslay_event_config_set_max_recv_msg_length(ws->ev,
		(uint64_t)g->cfg->max_body + WISP_CLIENT_HEADER);
	return 0;
}

/* Between whole messages with nothing to send, the context goes. */
static void rest(struct gate_ws *ws)
{
	if (ws->payload_left || ws->hdr_have || ws->msg_open
		|| wslay_event_want_write(ws->ev))
		return;
	wslay_event_context_free(ws->ev);
	ws->ev = NULL;
}

/* Bytes of frames through wslay. Those of the messages passed on are
 * given back to the socket layer by flow.c as it decodes them (so that
 * gate.max_inflight holds a WebSocket client back as it would a TCP one);
 * the rest (frame headers, control frames, a message not yet whole) now. */
static void feed(struct gate *g, struct gate_conn *c, const uint8_t *data,
	size_t size)
{
	struct gate_ws *ws = c->ws;
	int id = c->id;
	if (context(g, c) < 0)
		return;
	track(ws, data, size);
	ws->in = data;
	ws->in_len = size;
	ws->passed = 0;
	ws->busy = 1;
	int rc = wslay_event_recv(ws->ev);
	ws->busy = 0;
	if (ws->dead) { /* c went while wslay ran */
		wslay_event_context_free(ws->ev);
		wisp_free(ws);
		return;
	}
	wisp_gate_consumed(c, size - ws->passed);
	settle(g, c, rc);
	if ((c = wisp_gate_conn(g, (uint32_t)id)) != NULL)
		account(g, c);
	if ((c = wisp_gate_conn(g, (uint32_t)id)) != NULL)
		rest(c->ws);
}

void wisp_gate_ws_data(struct gate *g, struct gate_conn *c,
	const uint8_t *data, size_t size)
{
	c->ws->pinged = 0;
	if (!c->ws->open)
		upgrade(g, c, data, size);
	else
		feed(g, c, data, size);
}
