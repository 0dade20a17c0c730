/* ws_upgrade.c: the HTTP request that opens a WebSocket, parsed with no
 * allocation and no byte read past what was given, and the answers: 101
 * with Sec-WebSocket-Accept (SHA-1 and base64 by libcrypto), or an error
 * status. Only what RFC 6455 section 4.2.1 asks of a server is checked;
 * other headers are skipped. */
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include "ws_upgrade.h"

#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
#define KEY_LEN 24 /* base64 of 16 bytes */

/* One header or request line: [at, at + len). */
struct span {
	const char *at;
	size_t len;
};

/* What the headers said, as the lines go by. */
struct seen {
	int host, upgrade, connection, version, version13;
};

static long fail(struct wisp_ws_request *req, int status, const char *why)
{
	req->status = status;
	req->reason = why;
	return -1;
}

static int is_space(char ch)
{
	return ch == ' ' || ch == '\t';
}

static struct span trim(struct span s)
{
	while (s.len && is_space(s.at[0]))
		s.at++, s.len--;
	while (s.len && is_space(s.at[s.len - 1]))
		s.len--;
	return s;
}

static int equals(struct span s, const char *word)
{
	size_t n = strlen(word);
	return s.len == n && strncasecmp(s.at, word, n) == 0;
}

/* Whether the comma-separated list s holds word (any case). */
static int lists(struct span s, const char *word)
{
	while (s.len) {
		const char *comma = memchr(s.at, ',', s.len);
		size_t n = comma ? (size_t)(comma - s.at) : s.len;
		if (equals(trim((struct span){ s.at, n }), word))
			return 1;
		s.at += comma ? n + 1 : n;
		s.len -= comma ? n + 1 : n;
	}
	return 0;
}

static int base64_char(char ch)
{
	return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z')
		|| (ch >= '0' && ch <= '9') || ch == '+' || ch == '/';
}

/* The base64 of 16 bytes: 22 characters and "==". */
static int good_key(struct span s)
{
	if (s.len != KEY_LEN || s.at[22] != '=' || s.at[23] != '=')
		return 0;
	for (size_t i = 0; i < 22; i++)
		if (!base64_char(s.at[i]))
			return 0;
	return 1;
}

/* "GET /target HTTP/1.1": any target without spaces or controls. */
static int good_request_line(struct span s)
{
	static const char get[] = "GET ", version[] = " HTTP/1.1";
	size_t gl = sizeof(get) - 1, vl = sizeof(version) - 1;
	if (s.len <= gl + vl || memcmp(s.at, get, gl) != 0
		|| memcmp(s.at + s.len - vl, version, vl) != 0)
		return 0;
	for (size_t i = gl; i < s.len - vl; i++)
		if ((unsigned char)s.at[i] <= ' ' || s.at[i] == 0x7f)
			return 0;
	return 1;
}

static int token_char(char ch)
{
	return ch > ' ' && ch < 0x7f && !strchr("()<>@,;:\\\"/[]?={}", ch);
}

/* One header line: 0, or -1 with the error in req. */
static long header(struct span line, struct seen *seen,
	struct wisp_ws_request *req)
{
	const char *colon = memchr(line.at, ':', line.len);
	if (colon == NULL || colon == line.at)
		return fail(req, 400, "a header line without a name and a colon");
	struct span name = { line.at, (size_t)(colon - line.at) };
	for (size_t i = 0; i < name.len; i++)
		if (!token_char(name.at[i]))
			return fail(req, 400, "a header name with a bad character");
	struct span value = trim((struct span){ colon + 1,
		line.len - name.len - 1 });
	if (equals(name, "Host"))
		seen->host = 1;
	else if (equals(name, "Upgrade"))
		seen->upgrade |= lists(value, "websocket");
	else if (equals(name, "Connection"))
		seen->connection |= lists(value, "upgrade");
	else if (equals(name, "Sec-WebSocket-Version")) {
		seen->version = 1;
		seen->version13 = equals(value, "13");
	} else if (equals(name, "Sec-WebSocket-Key")) {
		if (req->key)
			return fail(req, 400, "Sec-WebSocket-Key given twice");
		if (!good_key(value))
			return fail(req, 400, "Sec-WebSocket-Key is not the base64 of "
				"16 bytes");
		req->key = value.at;
		req->key_len = value.len;
	} else if (equals(name, "Origin")) {
		if (req->origin)
			return fail(req, 400, "Origin given twice");
		req->origin = value.at;
		req->origin_len = value.len;
	}
	return 0;
}

/* After every line: what must have been there. */
static long complete(const struct seen *seen, struct wisp_ws_request *req)
{
	if (!seen->host)
		return fail(req, 400, "no Host header");
	if (!seen->upgrade)
		return fail(req, 400, "no \"Upgrade: websocket\" header");
	if (!seen->connection)
		return fail(req, 400, "no \"Connection: upgrade\" header");
	if (!seen->version13)
		return fail(req, 426, seen->version ? "Sec-WebSocket-Version is "
			"not 13" : "no Sec-WebSocket-Version header");
	if (req->key == NULL)
		return fail(req, 400, "no Sec-WebSocket-Key header");
	return 0;
}

/* The lines of head, which ends with its blank line's CRLF. */
static long lines(const char *head, size_t len, struct wisp_ws_request *req)
{
	struct seen seen = { 0 };
	const char *at = head, *end = head + len;
	int first = 1;
	while (at < end) {
		const char *cr = memchr(at, '\r', (size_t)(end - at));
		struct span line = { at, (size_t)(cr - at) };
		if (cr + 1 >= end || cr[1] != '\n')
			return fail(req, 400, "a bare CR in the headers");
		if (memchr(line.at, '\n', line.len) || memchr(line.at, 0, line.len))
			return fail(req, 400, "a bare LF or a NUL in the headers");
		at = cr + 2;
		if (line.len == 0)
			break;
		if (first && !good_request_line(line))
			return fail(req, 400, "the request line is not "
				"\"GET /path HTTP/1.1\"");
		if (!first && is_space(line.at[0]))
			return fail(req, 400, "a folded header line");
		if (!first && header(line, &seen, req) < 0)
			return -1;
		first = 0;
	}
	return complete(&seen, req);
}

long wisp_ws_upgrade_parse(const char *buf, size_t len,
	struct wisp_ws_request *req)
{
	memset(req, 0, sizeof(*req));
	size_t look = len < WISP_WS_HEAD_MAX ? len : WISP_WS_HEAD_MAX;
	/* not HTTP at all: no need to wait for the rest */
	if (memcmp(buf, "GET ", look < 4 ? look : 4) != 0)
		return fail(req, 400, "the request line is not \"GET /path "
			"HTTP/1.1\"");
	const char *end = memmem(buf, look, "\r\n\r\n", 4);
	if (end == NULL)
		return len >= WISP_WS_HEAD_MAX ? fail(req, 431, "the request's "
			"headers are over 8192 bytes") : 0;
	size_t head = (size_t)(end - buf) + 4;
	if (lines(buf, head, req) < 0)
		return -1;
	return (long)head;
}

void wisp_ws_accept_key(const char *key, size_t key_len,
	char out[WISP_WS_ACCEPT_SIZE])
{
	unsigned char digest[SHA_DIGEST_LENGTH];
	char text[KEY_LEN + sizeof(WS_GUID)];
	if (key_len > KEY_LEN)
		key_len = KEY_LEN; /* parsed keys are exactly that */
	memcpy(text, key, key_len);
	memcpy(text + key_len, WS_GUID, sizeof(WS_GUID) - 1);
	EVP_Digest(text, key_len + sizeof(WS_GUID) - 1, digest, NULL,
		EVP_sha1(), NULL);
	EVP_EncodeBlock((unsigned char *)out, digest, SHA_DIGEST_LENGTH);
}

size_t wisp_ws_answer_101(const struct wisp_ws_request *req, char *out,
	size_t size)
{
	char accept[WISP_WS_ACCEPT_SIZE];
	wisp_ws_accept_key(req->key, req->key_len, accept);
	int n = snprintf(out, size, "HTTP/1.1 101 Switching Protocols\r\n"
		"Upgrade: websocket\r\nConnection: Upgrade\r\n"
		"Sec-WebSocket-Accept: %s\r\n\r\n", accept);
	return n > 0 && (size_t)n < size ? (size_t)n : 0;
}

static const char *status_text(int status)
{
	switch (status) {
	case 403: return "Forbidden";
	case 426: return "Upgrade Required";
	case 431: return "Request Header Fields Too Large";
	default: return "Bad Request";
	}
}

size_t wisp_ws_answer_error(int status, char *out, size_t size)
{
	int n = snprintf(out, size, "HTTP/1.1 %d %s\r\n%sConnection: close\r\n"
		"Content-Length: 0\r\n\r\n", status, status_text(status),
		status == 426 ? "Sec-WebSocket-Version: 13\r\n" : "");
	return n > 0 && (size_t)n < size ? (size_t)n : 0;
}
