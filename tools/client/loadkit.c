/* loadkit.c: the pieces wisp-load and wisp-bots share (loadkit.h): the
 * argument loop with the gate's address and frame options, number
 * parsing, the gate's error frames, complaints and error counting, the
 * interrupt flag, the clock and the open file limit. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <time.h>
#include "addr.h"
#include "loadkit.h"

/* Descriptors beyond the connections: stdio, epoll, and some to spare. */
#define SPARE_FDS 16

/* The tool's name, for complaints; lk_options sets it. */
static const char *tool_name = "wisp";

volatile sig_atomic_t lk_interrupted;

/* ---- complaints ---- */

static void vcomplain(const char *fmt, va_list ap)
{
	fprintf(stderr, "%s: ", tool_name);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

int lk_complain(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vcomplain(fmt, ap);
	va_end(ap);
	return -1;
}

void lk_error(struct lk_errors *e, const char *fmt, ...)
{
	if (e->count < e->shown) {
		va_list ap;
		va_start(ap, fmt);
		vcomplain(fmt, ap);
		va_end(ap);
	} else if (e->count == e->shown) {
		lk_complain("further errors are counted, not shown");
	}
	e->count++;
}

/* ---- numbers ---- */

int lk_read_whole(const char **s, unsigned long long hi,
	unsigned long long *out)
{
	char *end;
	if (!isdigit((unsigned char)**s))
		return -1;
	errno = 0;
	*out = strtoull(*s, &end, 10);
	if (errno != 0 || *out > hi)
		return -1;
	*s = end;
	return 0;
}

int lk_whole(const char *s, unsigned long long lo, unsigned long long hi,
	unsigned long long *out)
{
	if (lk_read_whole(&s, hi, out) < 0 || *s != '\0' || *out < lo)
		return -1;
	return 0;
}

int lk_real(const char *s, double lo, double hi, double *out)
{
	char *end;
	if (!isdigit((unsigned char)*s))
		return -1;
	*out = strtod(s, &end);
	return *end != '\0' || !(*out >= lo && *out <= hi) ? -1 : 0;
}

/* ---- the frame options ---- */

static const char *parse_magic(void *opts, const char *v)
{
	struct lk_gate *g = opts;
	if (strlen(v) != 4)
		return "want exactly 4 bytes";
	memcpy(g->proto.magic, v, 4);
	return NULL;
}

static const char *parse_proto(void *opts, const char *v)
{
	struct lk_gate *g = opts;
	unsigned long long n;
	if (lk_whole(v, 0, UINT8_MAX, &n) < 0)
		return "want a whole number from 0 to 255";
	g->proto.proto_version = (uint8_t)n;
	return NULL;
}

static const char *parse_server(void *opts, const char *v)
{
	struct lk_gate *g = opts;
	unsigned long long n;
	if (lk_whole(v, 0, UINT32_MAX, &n) < 0)
		return "want a whole number from 0 to 4294967295";
	g->proto.server_version = (uint32_t)n;
	return NULL;
}

static const char *parse_request_ids(void *opts, const char *v)
{
	(void)v;
	((struct lk_gate *)opts)->request_ids = 1;
	return NULL;
}

static const char *parse_error_command(void *opts, const char *v)
{
	struct lk_gate *g = opts;
	unsigned long long n;
	g->error_frames = strcmp(v, "none") != 0;
	if (!g->error_frames)
		return NULL;
	if (lk_whole(v, 0, UINT32_MAX, &n) < 0)
		return "want a command id from 0 to 4294967295, or none";
	g->error_command = (uint32_t)n;
	return NULL;
}

/* ---- the transport ---- */

static const char *parse_ws(void *opts, const char *v)
{
	(void)v;
	((struct lk_gate *)opts)->transport.ws = 1;
	return NULL;
}

/* Its context is made once all the options are read (tls_context):
 * --ca may come after --tls. */
static const char *parse_tls(void *opts, const char *v)
{
	(void)v;
	((struct lk_gate *)opts)->tls = 1;
	return NULL;
}

static const char *parse_ca(void *opts, const char *v)
{
	((struct lk_gate *)opts)->ca = v;
	return NULL;
}

static const char *parse_insecure(void *opts, const char *v)
{
	(void)v;
	((struct lk_gate *)opts)->insecure = 1;
	return NULL;
}

/* The TLS context --tls asked for: 0, or -1 said on stderr. */
static int tls_context(struct lk_gate *g)
{
	char why[256];
	if (!g->tls)
		return g->ca || g->insecure ? lk_complain("--ca and --insecure "
			"need --tls") : 0;
	if (g->ca && g->insecure)
		return lk_complain("--ca and --insecure: choose one");
	g->transport.tls = wisp_cli_tls_context(g->ca, g->insecure, why,
		sizeof why);
	return g->transport.tls ? 0 : lk_complain("--tls: %s", why);
}

void lk_gate_free(struct lk_gate *g)
{
	if (g->transport.tls)
		wisp_cli_tls_context_free(g->transport.tls);
	g->transport.tls = NULL;
}

struct wisp_cli *lk_client(const struct lk_gate *g)
{
	struct wisp_cli *c = wisp_cli_new(&g->proto);
	if (c) {
		wisp_cli_request_ids(c, g->request_ids);
		wisp_cli_transport(c, &g->transport);
	}
	return c;
}

uint32_t lk_epoll_wants(const struct wisp_cli *c)
{
	return wisp_cli_wants(c) == POLLIN ? EPOLLIN : EPOLLOUT;
}

/* --max-body is the tools' own: they want different least bodies. */
static const struct lk_option frame_options[] = {
	{ "--magic", parse_magic },
	{ "--proto", parse_proto },
	{ "--server", parse_server },
	{ "--error-command", parse_error_command },
	{ "--ca", parse_ca },
};

/* Options that take no value: parse gets "yes". */
static const struct lk_option flag_options[] = {
	{ "--request-ids", parse_request_ids },
	{ "--ws", parse_ws },
	{ "--tls", parse_tls },
	{ "--insecure", parse_insecure },
};

int lk_is_error(const struct lk_gate *g, const struct wisp_client_frame *f)
{
	return g->error_frames && f->command == g->error_command;
}

int lk_error_frame(const struct wisp_client_frame *f, uint32_t *command,
	char *buf, size_t n)
{
	struct wisp_client_error e;
	if (wisp_client_error_decode(f->body, f->size, &e) < 0) {
		snprintf(buf, n, "an error frame of %u bytes, too short",
			(unsigned)f->size);
		return -1;
	}
	*command = e.command;
	snprintf(buf, n, "(%u) %.*s", (unsigned)e.code,
		(int)(e.text_size < 64 ? e.text_size : 64), e.text);
	return 0;
}

/* ---- the command line ---- */

static const struct lk_option *find_in(const struct lk_option *options,
	size_t count, const char *arg, size_t len)
{
	for (size_t i = 0; i < count; i++)
		if (strlen(options[i].name) == len
			&& strncmp(options[i].name, arg, len) == 0)
			return &options[i];
	return NULL;
}

static const struct lk_option *find_option(const struct lk_tool *t,
	const char *arg, size_t len)
{
	const struct lk_option *o = find_in(t->options, t->option_count, arg,
		len);
	return o ? o : find_in(frame_options,
		sizeof frame_options / sizeof *frame_options, arg, len);
}

/* A numeric IPv4 or IPv6 address shorter than room bytes. */
static int numeric_host(const char *host, size_t room)
{
	uint8_t addr[sizeof(struct in6_addr)];
	return strlen(host) < room && (inet_pton(AF_INET, host, addr) == 1
		|| inet_pton(AF_INET6, host, addr) == 1);
}

/* HOST:PORT, an IPv6 host in brackets; numeric, as wisp_cli connects. */
static int parse_address(const struct lk_tool *t, struct lk_gate *g,
	const char *arg)
{
	struct wisp_addr a;
	const char *why = wisp_addr_parse(arg, 0, &a);
	if (why == NULL && !numeric_host(a.host, sizeof g->host))
		why = "the host is not a numeric IPv4 or IPv6 address";
	if (why)
		return lk_complain("bad address %s: %s; want HOST:PORT, e.g. "
			"127.0.0.1:%d or [::1]:%d", arg, why, t->example_port,
			t->example_port);
	memcpy(g->host, a.host, strlen(a.host) + 1);
	g->port = a.port;
	return 0;
}

/* One argument: an option and its value (from arg or the next one), or
 * the address. Returns how many arguments it used, or -1. */
static int parse_arg(const struct lk_tool *t, struct lk_gate *g, char **argv,
	int i)
{
	const char *arg = argv[i];
	if (strncmp(arg, "--", 2) != 0) {
		if (g->port != 0)
			return lk_complain("unexpected argument %s (see --help)", arg);
		return parse_address(t, g, arg) < 0 ? -1 : 1;
	}
	const char *eq = strchr(arg, '=');
	size_t len = eq ? (size_t)(eq - arg) : strlen(arg);
	const struct lk_option *flag = find_in(flag_options,
		sizeof flag_options / sizeof *flag_options, arg, len);
	if (flag) {
		if (eq)
			return lk_complain("option %s takes no value", flag->name);
		flag->parse(g, "yes");
		return 1;
	}
	const struct lk_option *spec = find_option(t, arg, len);
	if (spec == NULL)
		return lk_complain("unknown option %.*s (see --help)", (int)len, arg);
	const char *value = eq ? eq + 1 : argv[i + 1];
	if (value == NULL)
		return lk_complain("option %s needs a value", spec->name);
	const char *why = spec->parse(g, value);
	if (why != NULL)
		return lk_complain("bad option %s %s: %s", spec->name, value, why);
	return eq ? 1 : 2;
}

static int wants_help(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
			return 1;
	return 0;
}

int lk_options(const struct lk_tool *t, struct lk_gate *gate, int argc,
	char **argv)
{
	tool_name = t->name;
	if (wants_help(argc, argv)) {
		fputs(t->usage, stdout);
		return 1;
	}
	*gate = (struct lk_gate){
		.proto = { .magic = { 'W', 'I', 'S', 'P' }, .proto_version = 1,
			.server_version = 1, .max_body = 65536 },
		.error_frames = 1, .error_command = UINT32_MAX,
	};
	for (int i = 1, used; i < argc; i += used)
		if ((used = parse_arg(t, gate, argv, i)) < 0)
			return -1;
	if (gate->port == 0)
		return lk_complain("missing HOST:PORT (see --help)");
	return tls_context(gate);
}

/* ---- the run ---- */

static void on_interrupt(int sig)
{
	(void)sig;
	lk_interrupted = 1;
}

void lk_catch_interrupts(void)
{
	struct sigaction sa = { .sa_handler = on_interrupt,
		.sa_flags = SA_RESETHAND };
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

uint64_t lk_now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

int lk_ms_until(uint64_t now, uint64_t us)
{
	return us > now ? (int)((us - now + 999) / 1000) : 0;
}

int lk_raise_fd_limit(const char *option, long count, const char *verb)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return lk_complain("getrlimit: %s", strerror(errno));
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
		return lk_complain("setrlimit: %s", strerror(errno));
	rlim_t need = (rlim_t)count + SPARE_FDS;
	if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < need)
		return lk_complain("%s %ld needs %llu open files but the hard limit "
			"is %llu (ulimit -Hn): raise it or %s fewer", option, count,
			(unsigned long long)need, (unsigned long long)rl.rlim_max, verb);
	return 0;
}
