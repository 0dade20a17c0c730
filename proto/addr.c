/* addr.c: parsing "host:port" (addr.h). The last step of every branch is
 * the same: a host of the right characters and length, then a port. */
#include <arpa/inet.h>
#include <string.h>
#include "addr.h"

/* The characters a host may hold outside brackets, and inside them. */
#define NAME_CHARS "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ" \
	"0123456789.-_"
#define IPV6_CHARS NAME_CHARS ":%"

/* s[0..n) as the host; ipv6: it was in brackets, or is a bare address. */
static const char *take_host(const char *s, size_t n, int ipv6,
	struct wisp_addr *out)
{
	const char *allowed = ipv6 ? IPV6_CHARS : NAME_CHARS;
	if (n == 0)
		return "empty host";
	if (n > WISP_ADDR_HOST_MAX)
		return "host longer than 255 bytes";
	for (size_t i = 0; i < n; i++)
		if (s[i] == '\0' || strchr(allowed, s[i]) == NULL)
			return ipv6 ? "an IPv6 address holds only hex digits, ':', '.' "
				"and a %zone" : "a host holds only letters, digits, '.', '-' "
				"and '_' (an IPv6 address goes in brackets)";
	memcpy(out->host, s, n);
	out->host[n] = '\0';
	return NULL;
}

/* port: NULL when the text had none. */
static const char *take_port(const char *port, int default_port,
	struct wisp_addr *out)
{
	if (port == NULL) {
		out->port = default_port;
		return default_port > 0 && default_port <= 65535 ? NULL
			: "no port (want HOST:PORT)";
	}
	size_t digits = strspn(port, "0123456789");
	if (port[0] == '\0')
		return "empty port";
	if (port[digits] != '\0')
		return "the port is not a decimal number";
	long n = 0;
	for (size_t i = 0; i < digits && n <= 65535; i++)
		n = n * 10 + (port[i] - '0');
	if (n < 1 || n > 65535)
		return "the port is not from 1 to 65535";
	out->port = (int)n;
	return NULL;
}

/* "[IPV6]" then ":PORT" or nothing. */
static const char *bracketed(const char *text, int default_port,
	struct wisp_addr *out)
{
	const char *close = strchr(text, ']');
	if (close == NULL)
		return "'[' without ']'";
	if (close[1] != '\0' && close[1] != ':')
		return "only \":PORT\" may follow ']'";
	const char *why = take_host(text + 1, (size_t)(close - text - 1), 1,
		out);
	if (why == NULL && strchr(out->host, ':') == NULL)
		why = "only an IPv6 address goes in brackets";
	return why ? why : take_port(close[1] ? close + 2 : NULL, default_port,
		out);
}

const char *wisp_addr_parse(const char *text, int default_port,
	struct wisp_addr *out)
{
	if (text[0] == '\0')
		return "empty address";
	if (text[0] == '[')
		return bracketed(text, default_port, out);
	const char *colon = strchr(text, ':');
	if (colon && strchr(colon + 1, ':')) { /* a bare IPv6 address */
		if (default_port == 0)
			return "an IPv6 address goes in brackets: [HOST]:PORT";
		const char *why = take_host(text, strlen(text), 1, out);
		return why ? why : take_port(NULL, default_port, out);
	}
	size_t n = colon ? (size_t)(colon - text) : strlen(text);
	const char *why = take_host(text, n, 0, out);
	return why ? why : take_port(colon ? colon + 1 : NULL, default_port, out);
}

int wisp_addr_is_loopback(const char *host)
{
	struct in_addr v4;
	struct in6_addr v6;
	if (strcmp(host, "localhost") == 0)
		return 1;
	if (inet_pton(AF_INET, host, &v4) == 1)
		return (ntohl(v4.s_addr) >> 24) == 127;
	if (inet_pton(AF_INET6, host, &v6) != 1)
		return 0;
	return IN6_IS_ADDR_LOOPBACK(&v6)
		|| (IN6_IS_ADDR_V4MAPPED(&v6) && v6.s6_addr[12] == 127);
}
