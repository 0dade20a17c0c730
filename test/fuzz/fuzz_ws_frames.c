/* fuzz_ws_frames.c: libFuzzer target for WebSocket frames from a client,
 * through wslay as the gate drives it (services/gate/ws.c): a server
 * context, its recv callback fed from the bytes read, in pieces whose
 * size the input's first byte seeds, never blocking; a message cap of a
 * wisp frame with gate.max_body 1024. No message may pass the cap, none
 * may come after wslay stopped reading, and what wslay sends (pongs,
 * closes) must be unmasked frames of at most 125 bytes of payload. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wslay/wslay.h>

#define MAX_MESSAGE (1024 + 17)

struct feed {
	const uint8_t *in;
	size_t len;
	int closed;      /* a close was received or sent */
	size_t out;      /* bytes wslay sent */
};

static _Noreturn void die(const char *what)
{
	fprintf(stderr, "fuzz_ws_frames: %s\n", what);
	abort();
}

static ssize_t on_recv(wslay_event_context_ptr ev, uint8_t *buf, size_t len,
	int flags, void *ud)
{
	struct feed *f = ud;
	(void)flags;
	if (f->len == 0) {
		wslay_event_set_error(ev, WSLAY_ERR_WOULDBLOCK);
		return -1;
	}
	size_t n = len < f->len ? len : f->len;
	memcpy(buf, f->in, n);
	f->in += n;
	f->len -= n;
	return (ssize_t)n;
}

/* The first bytes of each wslay_event_send are a frame's header (later
 * calls may be payload, so only those are checked). */
static ssize_t on_send(wslay_event_context_ptr ev, const uint8_t *data,
	size_t len, int flags, void *ud)
{
	struct feed *f = ud;
	(void)ev, (void)flags;
	if (f->out == 0 && len >= 2 && (data[1] & 0x80))
		die("a masked frame from the server");
	f->out += len;
	return (ssize_t)len;
}

static void on_message(wslay_event_context_ptr ev,
	const struct wslay_event_on_msg_recv_arg *arg, void *ud)
{
	struct feed *f = ud;
	(void)ev;
	if (f->closed && arg->opcode != WSLAY_CONNECTION_CLOSE)
		die("a message after a close");
	if (arg->msg_length > MAX_MESSAGE)
		die("a message over the cap");
	if (arg->opcode >= 0x8 && arg->msg_length > 125)
		die("a control frame over 125 bytes");
	if (arg->opcode == WSLAY_CONNECTION_CLOSE)
		f->closed = 1;
}

static const struct wslay_event_callbacks callbacks = {
	.recv_callback = on_recv,
	.send_callback = on_send,
	.on_msg_recv_callback = on_message,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	struct feed f = { 0 };
	wslay_event_context_ptr ev;
	if (wslay_event_context_server_init(&ev, &callbacks, &f) != 0)
		die("no context");
	wslay_event_config_set_max_recv_msg_length(ev, MAX_MESSAGE);
	unsigned seed = data[0];
	data++, size--;
	while (size && wslay_event_get_read_enabled(ev)) {
		size_t piece = 1 + (seed = seed * 1103515245u + 12345u) % 97;
		f.in = data;
		f.len = piece < size ? piece : size;
		data += f.len;
		size -= f.len;
		if (wslay_event_recv(ev) < 0)
			break;
		if (wslay_event_get_close_sent(ev))
			f.closed = 1;
		f.out = 0;
		if (wslay_event_want_write(ev) && wslay_event_send(ev) < 0)
			break;
	}
	wslay_event_context_free(ev);
	return 0;
}
