/* bots_options.c: wisp-bots' command line: the options, their checks and
 * defaults, and --help. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "bots.h"

int bots_complain(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("wisp-bots: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	return -1;
}

static void usage(FILE *out)
{
	fputs("usage: wisp-bots [options] HOST:PORT\n"
		"Bots play the demo game on a gate: each logs in, enters a room, "
		"then moves\nand chats; every reply and every chat delivery is "
		"checked.\n"
		"  --bots N         bots (100)\n"
		"  --prefix P       bot i's account is P<i> (bot)\n"
		"  --rooms R        bot i enters room i % R, named by that number "
		"(10)\n"
		"  --duration S     seconds of play once every bot is in its room; "
		"0: log in\n"
		"                   and stop (10)\n"
		"  --moves R        moves per bot per second (1)\n"
		"  --chats R        chat lines per bot per second (1)\n"
		"  --timeout S      seconds setup and the final drain may take "
		"(10)\n"
		"  --save FILE      write each bot's final state: ACCOUNT X Y "
		"LOGINS ROOM\n"
		"  --verify FILE    each login must give back the state a --save "
		"wrote\n"
		"                   (its login count one more)\n"
		"  --magic XXXX, --proto N, --server N, --max-body N: the gate's "
		"frame\n"
		"                   (WISP, 1, 1, 65536)\n"
		"Exit code 1 on any error or missing delivery, 2 on bad "
		"arguments.\n", out);
}

/* s, all of it, as a whole number from lo to hi. */
static int whole(const char *s, unsigned long long lo, unsigned long long hi,
	unsigned long long *out)
{
	char *end;
	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	*out = strtoull(s, &end, 10);
	return errno != 0 || *end != '\0' || *out < lo || *out > hi ? -1 : 0;
}

static int real(const char *s, double lo, double hi, double *out)
{
	char *end;
	if (!isdigit((unsigned char)*s))
		return -1;
	*out = strtod(s, &end);
	return *end != '\0' || !(*out >= lo && *out <= hi) ? -1 : 0;
}

static const char *parse_bots(struct bots_options *o, const char *v)
{
	unsigned long long n;
	if (whole(v, 1, 1000000, &n) < 0)
		return "want a whole number from 1 to 1000000";
	o->bots = (long)n;
	return NULL;
}

static const char *parse_prefix(struct bots_options *o, const char *v)
{
	size_t n = strlen(v);
	if (n < 1 || n > BOTS_PREFIX_MAX || strspn(v, "abcdefghijklmnopqrstuvwxyz"
		"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") != n)
		return "want 1 to 24 letters, digits, '_', '-' or '.'";
	memcpy(o->prefix, v, n + 1);
	return NULL;
}

static const char *parse_rooms(struct bots_options *o, const char *v)
{
	unsigned long long n;
	if (whole(v, 1, 1000000, &n) < 0)
		return "want a whole number from 1 to 1000000";
	o->rooms = (long)n;
	return NULL;
}

static const char *parse_duration(struct bots_options *o, const char *v)
{
	return real(v, 0, 86400, &o->duration) < 0
		? "want seconds from 0 to 86400" : NULL;
}

static const char *parse_moves(struct bots_options *o, const char *v)
{
	return real(v, 0, 1000, &o->moves) < 0
		? "want moves per bot per second, from 0 to 1000" : NULL;
}

static const char *parse_chats(struct bots_options *o, const char *v)
{
	return real(v, 0, 1000, &o->chats) < 0
		? "want chat lines per bot per second, from 0 to 1000" : NULL;
}

static const char *parse_timeout(struct bots_options *o, const char *v)
{
	return real(v, 0.001, 3600, &o->timeout) < 0
		? "want seconds, above 0 and at most 3600" : NULL;
}

static const char *parse_save(struct bots_options *o, const char *v)
{
	o->save = v;
	return NULL;
}

static const char *parse_verify(struct bots_options *o, const char *v)
{
	o->verify = v;
	return NULL;
}

static const char *parse_magic(struct bots_options *o, const char *v)
{
	if (strlen(v) != 4)
		return "want exactly 4 bytes";
	memcpy(o->proto.magic, v, 4);
	return NULL;
}

static const char *parse_proto(struct bots_options *o, const char *v)
{
	unsigned long long n;
	if (whole(v, 0, UINT8_MAX, &n) < 0)
		return "want a whole number from 0 to 255";
	o->proto.proto_version = (uint8_t)n;
	return NULL;
}

static const char *parse_server(struct bots_options *o, const char *v)
{
	unsigned long long n;
	if (whole(v, 0, UINT32_MAX, &n) < 0)
		return "want a whole number from 0 to 4294967295";
	o->proto.server_version = (uint32_t)n;
	return NULL;
}

/* At least what the bots send: a login of the longest account. */
static const char *parse_max_body(struct bots_options *o, const char *v)
{
	unsigned long long n;
	if (whole(v, BOTS_NAME_MAX, UINT32_MAX - 4, &n) < 0)
		return "want a whole number from 32 to 4294967291";
	o->proto.max_body = (uint32_t)n;
	return NULL;
}

static const struct option_spec {
	const char *name;
	const char *(*parse)(struct bots_options *o, const char *value);
} option_specs[] = {
	{ "--bots", parse_bots }, { "--prefix", parse_prefix },
	{ "--rooms", parse_rooms }, { "--duration", parse_duration },
	{ "--moves", parse_moves }, { "--chats", parse_chats },
	{ "--timeout", parse_timeout }, { "--save", parse_save },
	{ "--verify", parse_verify }, { "--magic", parse_magic },
	{ "--proto", parse_proto }, { "--server", parse_server },
	{ "--max-body", parse_max_body },
};

static const struct option_spec *find_option(const char *arg, size_t len)
{
	for (size_t i = 0; i < sizeof option_specs / sizeof *option_specs; i++)
		if (strlen(option_specs[i].name) == len
			&& strncmp(option_specs[i].name, arg, len) == 0)
			return &option_specs[i];
	return NULL;
}

/* HOST:PORT, an IPv6 host in brackets. */
static int parse_address(struct bots_options *o, const char *arg)
{
	const char *colon = strrchr(arg, ':');
	const char *host = arg;
	size_t len = colon ? (size_t)(colon - arg) : 0;
	if (len >= 2 && host[0] == '[' && host[len - 1] == ']') {
		host++;
		len -= 2;
	}
	unsigned long long port;
	uint8_t addr[sizeof(struct in6_addr)];
	if (colon == NULL || len >= sizeof o->host
		|| whole(colon + 1, 1, 65535, &port) < 0)
		goto bad;
	memcpy(o->host, host, len);
	o->host[len] = '\0';
	if (inet_pton(AF_INET, o->host, addr) != 1
		&& inet_pton(AF_INET6, o->host, addr) != 1)
		goto bad;
	o->port = (int)port;
	return 0;
bad:
	return bots_complain("bad address %s: want HOST:PORT, HOST a numeric IPv4 "
		"or IPv6 address, e.g. 127.0.0.1:7100 or [::1]:7100", arg);
}

/* One argument: an option and its value (from arg or the next one), or
 * the address. Returns how many arguments it used, or -1. */
static int parse_arg(struct bots_options *o, char **argv, int i)
{
	const char *arg = argv[i];
	if (strncmp(arg, "--", 2) != 0) {
		if (o->port != 0)
			return bots_complain("unexpected argument %s (see --help)", arg);
		return parse_address(o, arg) < 0 ? -1 : 1;
	}
	const char *eq = strchr(arg, '=');
	size_t len = eq ? (size_t)(eq - arg) : strlen(arg);
	const struct option_spec *spec = find_option(arg, len);
	if (spec == NULL)
		return bots_complain("unknown option %.*s (see --help)", (int)len, arg);
	const char *value = eq ? eq + 1 : argv[i + 1];
	if (value == NULL)
		return bots_complain("option %s needs a value", spec->name);
	const char *why = spec->parse(o, value);
	if (why != NULL)
		return bots_complain("bad option %s %s: %s", spec->name, value, why);
	return eq ? 1 : 2;
}

static int parse_options(struct bots_options *o, int argc, char **argv)
{
	*o = (struct bots_options){
		.bots = 100, .rooms = 10, .duration = 10, .moves = 1, .chats = 1,
		.timeout = 10, .prefix = "bot",
		.proto = { .magic = { 'W', 'I', 'S', 'P' }, .proto_version = 1,
			.server_version = 1, .max_body = 65536 },
	};
	for (int i = 1, used; i < argc; i += used)
		if ((used = parse_arg(o, argv, i)) < 0)
			return -1;
	if (o->port == 0)
		return bots_complain("missing HOST:PORT (see --help)");
	return 0;
}

static int wants_help(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
			return 1;
	return 0;
}

int bots_options(struct bots_options *o, int argc, char **argv)
{
	if (wants_help(argc, argv)) {
		usage(stdout);
		return 1;
	}
	return parse_options(o, argc, argv);
}
