/* wisp_ctl.c: wisp-ctl, the command-line client of a node's console
 * (services/console). It connects, authenticates when given a token,
 * sends one command line and prints the reply: the reply's lines to
 * stdout and exit 0; an "ERR" reply to stderr and exit 1; a connection
 * that fails, closes early or stays silent past the timeout, exit 2.
 *
 *   wisp-ctl [--token T] [--json] [--timeout S] HOST:PORT COMMAND [ARGS...]
 *
 * `top` is sent again every second, the screen cleared before each
 * reply, until q is pressed (or Ctrl-C, or an error).
 *
 * The token may also come from WISP_CONSOLE_TOKEN. The protocol: lines
 * in; each reply's lines, dot-stuffed (a line starting with "." has one
 * more), then a line ".". */
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/socket.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>
#include "addr.h"

#define CONNECT_MS 5000
#define REPLY_MS 30000 /* the console forwards with a 15 s limit */
#define BUF_START 65536
#define BUF_MAX (1u << 30) /* a reply line longer than this is refused */

enum { EXIT_OK, EXIT_ERR_REPLY, EXIT_FAILED };

struct options {
	const char *token;
	const char *address;
	int json;
	int timeout_ms;
	char **words; /* the command and its arguments */
	int word_count;
};

/* The connection and what has been read but not yet taken as lines:
 * buf[start..end). A JSON reply is one line, of any length. */
struct conn {
	int fd;
	long long deadline_ms;
	char *buf;
	size_t cap, start, end;
};

static const char *address; /* for messages */

static void usage(void)
{
	fprintf(stderr, "usage: wisp-ctl [--token T] [--json] [--timeout SECONDS] "
		"HOST:PORT COMMAND [ARGS...]\n"
		"  the token may also come from WISP_CONSOLE_TOKEN; "
		"try the command help;\n"
		"  top [NODE|all] [COUNT] refreshes every second until q\n");
	exit(EXIT_FAILED);
}

/* A connection failure: says so and exits 2. */
static void failed(const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "wisp-ctl: %s: ", address);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(EXIT_FAILED);
}

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static void parse_options(int argc, char **argv, struct options *o)
{
	*o = (struct options){ getenv("WISP_CONSOLE_TOKEN"), NULL, 0, REPLY_MS,
		NULL, 0 };
	int i = 1;
	for (; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
		if (strcmp(argv[i], "--json") == 0) {
			o->json = 1;
		} else if (strcmp(argv[i], "--token") == 0 && i + 1 < argc) {
			o->token = argv[++i];
		} else if (strcmp(argv[i], "--timeout") == 0 && i + 1 < argc) {
			double s = atof(argv[++i]);
			if (s <= 0 || s > 86400)
				usage();
			o->timeout_ms = (int)(s * 1000);
		} else {
			usage();
		}
	}
	if (argc - i < 2)
		usage();
	o->address = argv[i];
	o->words = argv + i + 1;
	o->word_count = argc - i - 1;
}

/* Waits up to the deadline for events on fd; 0 on time out. */
static int wait_fd(int fd, short events, long long deadline_ms)
{
	long long left = deadline_ms - now_ms();
	if (left <= 0)
		return 0;
	struct pollfd p = { fd, events, 0 };
	int n;
	do
		n = poll(&p, 1, (int)left);
	while (n < 0 && errno == EINTR);
	return n;
}

/* A non-blocking connect to ai, within CONNECT_MS: the socket, or -1
 * with errno set. */
static int connect_one(const struct addrinfo *ai)
{
	int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK
		| SOCK_CLOEXEC, ai->ai_protocol);
	if (fd < 0)
		return -1;
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
		return fd;
	int err = errno;
	if (err == EINPROGRESS) {
		socklen_t len = sizeof(err);
		if (wait_fd(fd, POLLOUT, now_ms() + CONNECT_MS) <= 0)
			err = ETIMEDOUT;
		else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
			err = errno;
	}
	if (err == 0)
		return fd;
	close(fd);
	errno = err;
	return -1;
}

static int dial(const char *text)
{
	struct wisp_addr a;
	const char *why = wisp_addr_parse(text, 0, &a);
	if (why) {
		fprintf(stderr, "wisp-ctl: bad address '%s': %s\n", text, why);
		exit(EXIT_FAILED);
	}
	char port[8];
	snprintf(port, sizeof(port), "%d", a.port);
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *list;
	int rc = getaddrinfo(a.host, port, &hints, &list);
	if (rc != 0)
		failed("cannot resolve: %s", gai_strerror(rc));
	int fd = -1;
	for (struct addrinfo *ai = list; ai && fd < 0; ai = ai->ai_next)
		fd = connect_one(ai);
	int err = errno;
	freeaddrinfo(list);
	if (fd < 0)
		failed("cannot connect: %s", strerror(err));
	return fd;
}

static void send_all(struct conn *c, const char *data, size_t n)
{
	while (n > 0) {
		ssize_t w = send(c->fd, data, n, MSG_NOSIGNAL);
		if (w < 0 && (errno == EAGAIN || errno == EINTR)) {
			if (wait_fd(c->fd, POLLOUT, c->deadline_ms) <= 0)
				failed("timed out sending");
			continue;
		}
		if (w < 0)
			failed("send: %s", strerror(errno));
		data += w;
		n -= (size_t)w;
	}
}

/* Room for more bytes at the end of c->buf. */
static void make_room(struct conn *c)
{
	if (c->start > 0) {
		memmove(c->buf, c->buf + c->start, c->end - c->start);
		c->end -= c->start;
		c->start = 0;
	}
	if (c->end < c->cap)
		return;
	if (c->cap >= BUF_MAX)
		failed("a reply line longer than %u bytes", BUF_MAX);
	c->cap = c->cap ? 2 * c->cap : BUF_START;
	if ((c->buf = realloc(c->buf, c->cap)) == NULL)
		failed("out of memory");
}

/* More bytes into c->buf, waiting up to the deadline. */
static void fill(struct conn *c)
{
	make_room(c);
	for (;;) {
		ssize_t n = recv(c->fd, c->buf + c->end, c->cap - c->end, 0);
		if (n > 0) {
			c->end += (size_t)n;
			return;
		}
		if (n == 0)
			failed("the console closed the connection before the reply ended");
		if (errno != EAGAIN && errno != EINTR)
			failed("recv: %s", strerror(errno));
		if (wait_fd(c->fd, POLLIN, c->deadline_ms) <= 0)
			failed("no reply within the timeout");
	}
}

/* The next line, without its line break; valid until the next call. */
static const char *next_line(struct conn *c)
{
	char *nl = NULL;
	while (c->end == c->start || (nl = memchr(c->buf + c->start, '\n',
			c->end - c->start)) == NULL)
		fill(c);
	char *line = c->buf + c->start;
	*nl = '\0';
	if (nl > line && nl[-1] == '\r')
		nl[-1] = '\0';
	c->start = (size_t)(nl - c->buf) + 1;
	return line;
}

/* Prints a reply: its lines to stdout when show is set, or to stderr
 * without "ERR " when it is an error. Returns the exit code it stands
 * for. */
static int print_reply(struct conn *c, int show)
{
	const char *line = next_line(c);
	int error = strncmp(line, "ERR ", 4) == 0;
	FILE *out = error ? stderr : stdout;
	if (error) {
		fprintf(stderr, "wisp-ctl: ");
		line += 4;
	}
	while (strcmp(line, ".") != 0) {
		if (show || error)
			fprintf(out, "%s\n", line[0] == '.' ? line + 1 : line);
		line = next_line(c);
	}
	fflush(out);
	return error ? EXIT_ERR_REPLY : EXIT_OK;
}

/* One line out, one reply in. */
static int exchange(struct conn *c, const char *line, int show)
{
	send_all(c, line, strlen(line));
	return print_reply(c, show);
}

/* ---- top ---- */

#define TOP_EVERY_MS 1000

static struct termios saved_tty;
static int tty_raw;
static volatile sig_atomic_t top_stop;

static void stop_top(int sig)
{
	(void)sig;
	top_stop = 1;
}

/* Keys are read one at a time and not echoed, put back when top ends;
 * the last view stays on the screen, an error below it, as watch does. */
static void keys(int on)
{
	if (on && isatty(0) && tcgetattr(0, &saved_tty) == 0) {
		struct termios raw = saved_tty;
		raw.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
		raw.c_cc[VMIN] = 1;
		raw.c_cc[VTIME] = 0;
		tty_raw = tcsetattr(0, TCSANOW, &raw) == 0;
	} else if (!on && tty_raw) {
		tcsetattr(0, TCSANOW, &saved_tty);
	}
}

/* Waits out the refresh: 1 when q was pressed or top was stopped. */
static int top_wait(void)
{
	long long until = now_ms() + TOP_EVERY_MS;
	while (!top_stop && now_ms() < until) {
		struct pollfd p = { .fd = 0, .events = POLLIN };
		int n = poll(&p, 1, (int)(until - now_ms()));
		char key;
		if (n > 0 && read(0, &key, 1) == 1 && (key == 'q' || key == 'Q'))
			return 1;
		if (n > 0 && !(p.revents & POLLIN))
			usleep(TOP_EVERY_MS * 1000); /* stdin closed: just wait */
	}
	return top_stop;
}

static int run_top(struct conn *c, const char *line, int timeout_ms)
{
	signal(SIGINT, stop_top);
	signal(SIGTERM, stop_top);
	keys(1);
	int code = EXIT_OK;
	do {
		char when[16];
		time_t t = time(NULL);
		strftime(when, sizeof(when), "%H:%M:%S", localtime(&t));
		printf("\033[H\033[2Jwisp-ctl top %s  every %d s, q quits  %s\n\n",
			address, TOP_EVERY_MS / 1000, when);
		c->deadline_ms = now_ms() + timeout_ms;
		code = exchange(c, line, 1);
	} while (code == EXIT_OK && !top_wait());
	keys(0);
	return code;
}

/* Words may not carry a line break: it would start another command. */
static int has_break(const char *s)
{
	return strpbrk(s, "\r\n") != NULL;
}

static char *command_line(const struct options *o)
{
	size_t n = 16;
	for (int i = 0; i < o->word_count; i++)
		n += strlen(o->words[i]) + 1;
	char *line = malloc(n), *at = line;
	if (line == NULL)
		failed("out of memory");
	for (int i = 0; i < o->word_count; i++) {
		if (has_break(o->words[i]))
			usage();
		at += sprintf(at, "%s%s", i ? " " : "", o->words[i]);
	}
	sprintf(at, "%s\n", o->json ? " --json" : "");
	return line;
}

int main(int argc, char **argv)
{
	struct options o;
	parse_options(argc, argv, &o);
	address = o.address;
	if (o.token && has_break(o.token))
		usage();
	static char *top_all[] = { "top", "all" };
	if (o.word_count == 1 && strcmp(o.words[0], "top") == 0) {
		o.words = top_all; /* every node, unless one is named */
		o.word_count = 2;
	}
	char *line = command_line(&o);
	struct conn *c = calloc(1, sizeof(*c));
	if (c == NULL)
		failed("out of memory");
	c->fd = dial(o.address);
	c->deadline_ms = now_ms() + o.timeout_ms;
	int code = EXIT_OK;
	if (o.token && o.token[0]) {
		char *auth = malloc(strlen(o.token) + 8);
		if (auth == NULL)
			failed("out of memory");
		sprintf(auth, "auth %s\n", o.token);
		code = exchange(c, auth, 0); /* "authenticated": only errors show */
		free(auth);
	}
	int top = strcmp(o.words[0], "top") == 0;
	if (code == EXIT_OK && top)
		code = run_top(c, line, o.timeout_ms);
	else if (code == EXIT_OK)
		code = exchange(c, line, 1);
	close(c->fd);
	free(c->buf);
	free(c);
	free(line);
	return code;
}
