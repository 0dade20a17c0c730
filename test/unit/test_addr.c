/* test_addr.c: the one "host:port" parser (proto/addr.h): every form it
 * takes, the default port, and the reason it gives for each refusal. */
#include <string.h>
#include "addr.h"
#include "testlib.h"

/* Parses text, which must be taken, into host and port. */
static void taken(const char *text, int default_port, const char *host,
	int port)
{
	struct wisp_addr a;
	const char *why = wisp_addr_parse(text, default_port, &a);
	if (why != NULL) {
		fprintf(stderr, "'%s' refused: %s\n", text, why);
		test_failures++;
		return;
	}
	CHECK_STR(a.host, host);
	CHECK_INT(a.port, port);
}

/* Parses text, which must be refused with a reason containing want. */
static void refused(const char *text, int default_port, const char *want)
{
	struct wisp_addr a;
	const char *why = wisp_addr_parse(text, default_port, &a);
	if (why == NULL || strstr(why, want) == NULL) {
		fprintf(stderr, "'%s': got %s, want a reason with \"%s\"\n", text,
			why ? why : "no refusal", want);
		test_failures++;
	}
}

static void test_ipv4_and_names(void)
{
	taken("127.0.0.1:7100", 0, "127.0.0.1", 7100);
	taken("0.0.0.0:1", 0, "0.0.0.0", 1);
	taken("localhost:65535", 0, "localhost", 65535);
	taken("db-1.example_net.org:11211", 0, "db-1.example_net.org", 11211);
	taken("h:00080", 0, "h", 80); /* leading zeros are still decimal */
}

static void test_ipv6(void)
{
	taken("[::1]:7002", 0, "::1", 7002);
	taken("[fe80::1%eth0]:80", 0, "fe80::1%eth0", 80);
	taken("[2001:db8::7]:443", 0, "2001:db8::7", 443);
	refused("::1:7002", 0, "in brackets");
	refused("[::1", 0, "without ']'");
	refused("[::1]x", 0, "may follow ']'");
	refused("[::1]:", 0, "empty port");
	refused("[]:80", 0, "empty host");
	refused("[::1 ]:80", 0, "IPv6 address holds only");
	refused("[localhost]:80", 0, "only an IPv6 address goes in brackets");
}

static void test_ports(void)
{
	refused("127.0.0.1", 0, "no port");
	refused("[::1]", 0, "no port");
	refused("host:", 0, "empty port");
	refused("host:0", 0, "from 1 to 65535");
	refused("host:65536", 0, "from 1 to 65535");
	refused("host:99999999999999999999", 0, "from 1 to 65535");
	refused("host:12ab", 0, "not a decimal number");
	refused("host:-1", 0, "not a decimal number");
	refused("host:+80", 0, "not a decimal number");
	refused("host: 80", 0, "not a decimal number");
}

static void test_hosts(void)
{
	char longest[300];
	memset(longest, 'a', 255);
	strcpy(longest + 255, ":1");
	struct wisp_addr a;
	CHECK(wisp_addr_parse(longest, 0, &a) == NULL);
	CHECK_INT(strlen(a.host), 255);
	CHECK_INT(a.port, 1);
	memset(longest, 'a', 256);
	strcpy(longest + 256, ":1");
	refused(longest, 0, "longer than 255 bytes");
	refused("", 0, "empty address");
	refused(":11211", 0, "empty host");
	refused("a b:1", 0, "a host holds only");
	refused("a,b:1", 0, "a host holds only");
	refused("h\t:1", 0, "a host holds only");
	refused("a]:1", 0, "a host holds only");
}

/* Where a caller (memcached's server list) has a default port. */
static void test_default_port(void)
{
	taken("localhost", 11211, "localhost", 11211);
	taken("10.0.0.2", 11211, "10.0.0.2", 11211);
	taken("[::1]", 11211, "::1", 11211);
	taken("::1", 11211, "::1", 11211);
	taken("cache:7000", 11211, "cache", 7000);
	taken("[::1]:7000", 11211, "::1", 7000);
	refused("cache:", 11211, "empty port");
	refused("", 11211, "empty address");
	refused(":: 1", 11211, "IPv6 address holds only");
}

static void test_loopback(void)
{
	const char *yes[] = { "127.0.0.1", "127.1.2.3", "::1", "::ffff:127.0.0.5",
		"localhost" };
	const char *no[] = { "10.0.0.1", "128.0.0.1", "::2", "::ffff:10.0.0.1",
		"example.com", "localhost.example.com", "" };
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		CHECK(wisp_addr_is_loopback(yes[i]));
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		CHECK(!wisp_addr_is_loopback(no[i]));
}

int main(void)
{
	RUN(test_ipv4_and_names);
	RUN(test_ipv6);
	RUN(test_ports);
	RUN(test_hosts);
	RUN(test_default_port);
	RUN(test_loopback);
	return TEST_END();
}
