/* addr.h: the one parser of "host:port", which the config, the services
 * and the tools all use, so an address one of them takes the others take
 * too. No name is resolved here: HOST is only checked for its form. */
#ifndef WISP_ADDR_H
#define WISP_ADDR_H

/* The longest HOST in bytes (a DNS name has at most 253). */
#define WISP_ADDR_HOST_MAX 255

struct wisp_addr {
	char host[WISP_ADDR_HOST_MAX + 1]; /* without the brackets */
	int port;                          /* 1 to 65535 */
};

/* Parses "HOST:PORT" or "[IPV6]:PORT". HOST is a name or an IPv4 address
 * (letters, digits, '.', '-', '_'); in brackets, an IPv6 address (also
 * ':', at least one, and '%' for a zone). PORT is 1 to 65535, in decimal
 * digits only.
 * With default_port from 1 to 65535, the port may be left out: "HOST",
 * "[IPV6]" or a bare IPv6 address ("::1") take it; with 0 it is required.
 * Returns NULL with *out filled, or why text is not such an address, a
 * constant phrase made to follow "bad address 'TEXT': ". */
const char *wisp_addr_parse(const char *text, int default_port,
	struct wisp_addr *out);

/* 1 when host names this machine's loopback: 127.0.0.0/8, ::1,
 * ::ffff:127.x.y.z, or "localhost", the name that always means them. Any
 * other name could resolve anywhere. */
int wisp_addr_is_loopback(const char *host);

#endif
