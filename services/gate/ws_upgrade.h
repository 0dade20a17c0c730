/* ws_upgrade.h: the HTTP request that opens a WebSocket (RFC 6455
 * section 4.2.1), parsed from untrusted bytes within a bounded size, and
 * the answers to it (ws_upgrade.c). Knows nothing of the gate, so that a
 * fuzz target can drive it alone. */
#ifndef WISP_WS_UPGRADE_H
#define WISP_WS_UPGRADE_H

#include <stddef.h>

/* The most an upgrade request may take, request line and headers. */
#define WISP_WS_HEAD_MAX 8192
/* Sec-WebSocket-Accept: base64 of a SHA-1, and its NUL. */
#define WISP_WS_ACCEPT_SIZE 29

struct wisp_ws_request {
	const char *key;    /* Sec-WebSocket-Key's value, in the bytes parsed */
	size_t key_len;
	const char *origin; /* Origin's, or NULL when there was none */
	size_t origin_len;
	int status;         /* on an error, the HTTP status to answer */
	const char *reason; /* and why, for the log */
};

/* The request at the start of buf[0, len): its size (through the blank
 * line) when whole and good, with key and origin in *req; 0 when more
 * bytes are needed (len is below WISP_WS_HEAD_MAX); -1 when it is bad or
 * too big, with req->status and req->reason. */
long wisp_ws_upgrade_parse(const char *buf, size_t len,
	struct wisp_ws_request *req);
/* The Sec-WebSocket-Accept value for key (24 bytes, as parsed),
 * NUL-terminated, into out. */
void wisp_ws_accept_key(const char *key, size_t key_len,
	char out[WISP_WS_ACCEPT_SIZE]);
/* The 101 answer for req into out; its length, or 0 when out is small. */
size_t wisp_ws_answer_101(const struct wisp_ws_request *req, char *out,
	size_t size);
/* An error answer with status (and Sec-WebSocket-Version for 426). */
size_t wisp_ws_answer_error(int status, char *out, size_t size);

#endif
