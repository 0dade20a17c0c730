/* local.c: the same-host transport. Beside its TCP address, a node listens
 * on an abstract Unix socket named after that address; a node dialing a
 * peer whose address is on this host (loopback, or one of this host's
 * interfaces) tries the Unix socket first and falls back to TCP when
 * nobody listens there (a peer in another network namespace, or one with
 * harbor.same_host = false). The bytes, the framing and the handshake are
 * the same as over TCP: the socket's peer credentials only say which user
 * dialed, while cluster membership is proved by the secret, as on TCP. */
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include "addr.h"
#include "harbor_service.h"
#include "socket.h"

union ip {
	struct in_addr v4;
	struct in6_addr v6;
};

/* The family of the numeric address text, with its bytes in ip; 0 if it
 * is not one. */
static int parse_ip(const char *text, union ip *ip)
{
	if (inet_pton(AF_INET, text, &ip->v4) == 1)
		return AF_INET;
	if (inet_pton(AF_INET6, text, &ip->v6) == 1)
		return AF_INET6;
	return 0;
}

static int same_ip(int family, const union ip *ip, const struct sockaddr *sa)
{
	if (sa == NULL || sa->sa_family != family)
		return 0;
	if (family == AF_INET)
		return ((const struct sockaddr_in *)sa)->sin_addr.s_addr
			== ip->v4.s_addr;
	return memcmp(&((const struct sockaddr_in6 *)sa)->sin6_addr, &ip->v6,
		sizeof(ip->v6)) == 0;
}

static int on_this_host(const char *host, const struct ifaddrs *ifs)
{
	union ip ip;
	int family = parse_ip(host, &ip);
	if (wisp_addr_is_loopback(host))
		return 1;
	if (family == 0)
		return 0;
	for (const struct ifaddrs *i = ifs; i; i = i->ifa_next)
		if (same_ip(family, &ip, i->ifa_addr))
			return 1;
	return 0;
}

void wisp_local_find_peers(struct harbor *h)
{
	struct ifaddrs *ifs = NULL;
	if (getifaddrs(&ifs) < 0)
		ifs = NULL; /* loopback peers are still known */
	for (size_t i = 0; i < h->cfg->peer_count; i++) {
		const struct wisp_peer *p = &h->cfg->peers[i];
		if (p != h->self && p->host)
			h->links[p->id].same_host = on_this_host(p->host, ifs);
	}
	if (ifs)
		freeifaddrs(ifs);
}

void wisp_local_name(const struct wisp_peer *p, char *out, size_t size)
{
	snprintf(out, size, strchr(p->host, ':') ? "wisp-harbor/[%s]:%d"
		: "wisp-harbor/%s:%d", p->host, p->port);
}

int wisp_local_listen(struct harbor *h)
{
	char name[WISP_LOCAL_NAME_MAX];
	wisp_local_name(h->self, name, sizeof(name));
	return wisp_net_listen_unix(wisp_self(h->ctx), name, 128);
}

int wisp_local_dial(struct harbor *h, const struct harbor_link *l)
{
	char name[WISP_LOCAL_NAME_MAX];
	wisp_local_name(l->peer, name, sizeof(name));
	return wisp_net_connect_unix(wisp_self(h->ctx), name);
}
