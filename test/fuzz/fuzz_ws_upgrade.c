/* fuzz_ws_upgrade.c: libFuzzer target for the gate's WebSocket upgrade
 * parser (services/gate/ws_upgrade.c). The input is what a client sends
 * first. Parsed whole, the result must be in bounds: a head no longer
 * than the input nor WISP_WS_HEAD_MAX and ending with its blank line, a
 * key and origin inside it, an error with a status the gate answers.
 * Parsed from every shorter prefix, it must wait (0) or fail, never
 * succeed early, and a prefix through the head gives the same head. Both
 * answers must fit their buffers. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ws_upgrade.h"

static _Noreturn void die(const char *what)
{
	fprintf(stderr, "fuzz_ws_upgrade: %s\n", what);
	abort();
}

static int inside(const char *p, size_t n, const char *buf, size_t head)
{
	return p >= buf && n <= head && (size_t)(p - buf) <= head - n;
}

static void check_good(const char *buf, long head,
	const struct wisp_ws_request *req)
{
	char out[256];
	if (head > WISP_WS_HEAD_MAX || memcmp(buf + head - 4, "\r\n\r\n", 4))
		die("a head past the cap or not ending with a blank line");
	if (!inside(req->key, req->key_len, buf, (size_t)head) || req->key_len != 24)
		die("a key outside the head, or not 24 bytes");
	if (req->origin && !inside(req->origin, req->origin_len, buf,
		(size_t)head))
		die("an origin outside the head");
	if (wisp_ws_answer_101(req, out, sizeof(out)) == 0)
		die("the 101 does not fit");
}

static void check_bad(const struct wisp_ws_request *req)
{
	char out[256];
	int s = req->status;
	if ((s != 400 && s != 426 && s != 431) || req->reason == NULL)
		die("an error without a status the gate answers, or a reason");
	if (wisp_ws_answer_error(s, out, sizeof(out)) == 0)
		die("the error answer does not fit");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct wisp_ws_request req;
	/* a copy of exactly size bytes, so that a read past them is seen */
	char *buf = malloc(size ? size : 1);
	memcpy(buf, data, size);
	long whole = size ? wisp_ws_upgrade_parse(buf, size, &req) : 0;
	if (whole > (long)size)
		die("a head longer than the input");
	if (whole > 0)
		check_good(buf, whole, &req);
	else if (whole < 0)
		check_bad(&req);
	else if (size >= WISP_WS_HEAD_MAX)
		die("waiting for more past the cap");
	for (size_t n = 1; n < size && n < WISP_WS_HEAD_MAX + 8; n += 1 + n / 8) {
		long part = wisp_ws_upgrade_parse(buf, n, &req);
		if (part > 0 && part != whole)
			die("a prefix parsed to another head");
		if (part < 0 && whole >= 0)
			die("a prefix failed where the whole did not");
		if (part < 0)
			check_bad(&req);
	}
	free(buf);
	return 0;
}
