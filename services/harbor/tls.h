/* tls.h: TLS 1.3 on a harbor link (tls.c), each link's session run by
 * the shared engine (tls/session.h) in the node's one thread. Two ways
 * to authenticate: an external PSK that both ends derived from the
 * handshake (TLS 1.3 psk_dhe_ke, so the link keeps forward secrecy), or
 * certificates of the cluster's CA on both
 * ends, each naming its node. No session tickets, no renegotiation. */
#ifndef WISP_HARBOR_TLS_H
#define WISP_HARBOR_TLS_H

#include <stddef.h>
#include <stdint.h>
#include "harbor_config.h"
#include "tls/session.h"

/* The PSK's size in bytes. */
#define WISP_HARBOR_TLS_PSK_SIZE 32

struct wisp_harbor_tls_ctx; /* one per harbor: what the settings give */

/* The context of s's mode: certificates when s->tls_mode is CERT, the
 * PSK otherwise. NULL with err filled (naming the file and what failed)
 * when the certificates cannot be loaded. */
struct wisp_harbor_tls_ctx *wisp_harbor_tls_ctx_new(
	const struct wisp_harbor_settings *s, char *err, size_t err_size);
void wisp_harbor_tls_ctx_free(struct wisp_harbor_tls_ctx *x);

/* A session of x's (tls/session.h, which runs it; the context must
 * outlive it); client: this side dialed. psk: WISP_HARBOR_TLS_PSK_SIZE
 * bytes in PSK mode (copied, and wiped once the handshake is over), NULL
 * in certificate mode. peer_name: the peer node's name, which its
 * certificate must carry in certificate mode. write and plain as
 * wisp_tls_session_new's. NULL if OpenSSL could not make one, or psk or
 * peer_name is missing. */
struct wisp_tls_session *wisp_harbor_tls_new(struct wisp_harbor_tls_ctx *x,
	int client, const uint8_t *psk, const char *peer_name,
	void (*write)(void *ud, const void *data, size_t size),
	void (*plain)(void *ud, const void *data, size_t size), void *ud);

#endif
