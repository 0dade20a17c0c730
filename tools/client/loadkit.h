/* loadkit.h: what the many-connection tools (wisp-load, wisp-bots) share:
 * their command line's frame (the gate's address, the frame options, the
 * argument loop, number parsing), the gate's error frames, complaints and
 * error counting, the interrupt flag, the clock, and the open file
 * limit; and the transport (--ws, --tls) every connection uses. */
#ifndef WISP_LOADKIT_H
#define WISP_LOADKIT_H

#include <netinet/in.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include "wisp_client.h"

/* The gate a tool talks to and the frame it speaks. It comes first in
 * each tool's options, so that the shared options can set it. */
struct lk_gate {
	char host[INET6_ADDRSTRLEN];
	int port;
	struct wisp_client_proto proto;
	int request_ids;        /* --request-ids: the gate's gate.request_ids */
	int error_frames;       /* --error-command none: the gate sends none */
	uint32_t error_command; /* the command id of its error frames */
	struct wisp_cli_transport transport; /* --ws, --tls */
	int tls;                /* --tls */
	const char *ca;         /* --ca: the CA file for --tls */
	int insecure;           /* --insecure: no certificate check */
};

/* One option of a tool: parse reads value into the tool's options (which
 * begin with their struct lk_gate) and returns why it is wrong, or NULL. */
struct lk_option {
	const char *name;
	const char *(*parse)(void *opts, const char *value);
};

/* The usage lines of the options every tool shares. */
#define LK_SHARED_USAGE \
	"  --magic XXXX, --proto N, --server N: the gate's frame (WISP, 1, 1)\n" \
	"  --request-ids       put a request id in each frame and match "\
	"replies by it,\n" \
	"                      for a gate with gate.request_ids = true\n" \
	"  --error-command N   the command id of the gate's error frames "\
	"(4294967295);\n" \
	"                      none: the gate sends none\n" \
	"  --ws                WebSocket (the gate's gate.ws_listen): each "\
	"frame one\n" \
	"                      binary message\n" \
	"  --tls               TLS (the gate's gate.tls); with --ws, wss\n" \
	"  --ca FILE           with --tls: the CA (PEM) the gate's certificate "\
	"must be\n" \
	"                      signed by, and name HOST (the system's CAs)\n" \
	"  --insecure          with --tls: do not check the gate's "\
	"certificate\n"

/* An error frame (lk_is_error): the failed request's command in
 * *command, and its reason into buf (n bytes), e.g. "(6) timeout". -1,
 * with what is wrong in buf, when its body is not an error's. */
int lk_error_frame(const struct wisp_client_frame *f, uint32_t *command,
	char *buf, size_t n);

/* Whether f is an error frame of g's gate. */
int lk_is_error(const struct lk_gate *g, const struct wisp_client_frame *f);

struct lk_tool {
	const char *name;                /* "wisp-load": first on complaints */
	const char *usage;               /* what --help prints */
	const struct lk_option *options; /* besides --magic, --proto, --server */
	size_t option_count;
	int example_port;                /* in the complaint about an address */
};

/* Reads argv into gate and, through t's options, the rest of the tool's
 * options (the tool sets its defaults first; the gate's are set here):
 * 0, 1 when --help was asked (and printed), -1 when an argument is wrong
 * (said on stderr). Call it first: it names the tool for lk_complain. */
int lk_options(const struct lk_tool *t, struct lk_gate *gate, int argc,
	char **argv);

/* Frees what lk_options made for g (the TLS context). */
void lk_gate_free(struct lk_gate *g);

/* A new connection for g's gate, with its request ids and transport;
 * NULL when out of memory. */
struct wisp_cli *lk_client(const struct lk_gate *g);

/* What a connection under way waits for, as epoll events. */
uint32_t lk_epoll_wants(const struct wisp_cli *c);

/* Reads a whole number at *s, at most hi, advancing *s past it. */
int lk_read_whole(const char **s, unsigned long long hi,
	unsigned long long *out);

/* s, all of it, as a whole number from lo to hi. */
int lk_whole(const char *s, unsigned long long lo, unsigned long long hi,
	unsigned long long *out);

/* s, all of it, as a number from lo to hi. */
int lk_real(const char *s, double lo, double hi, double *out);

/* Prints one line on stderr, the tool's name first; returns -1. */
__attribute__((format(printf, 1, 2)))
int lk_complain(const char *fmt, ...);

/* A run's errors: all are counted, but only the first few are shown,
 * since many connections tend to fail alike. */
struct lk_errors {
	uint64_t count;
	uint64_t shown; /* how many are shown */
};

/* Counts an error, showing it if it is one of the first few. */
__attribute__((format(printf, 2, 3)))
void lk_error(struct lk_errors *e, const char *fmt, ...);

/* Set by the first SIGINT or SIGTERM once lk_catch_interrupts ran: the
 * run stops early, with its summary; a second signal kills. */
extern volatile sig_atomic_t lk_interrupted;
void lk_catch_interrupts(void);

/* Microseconds on the monotonic clock. */
uint64_t lk_now_us(void);

/* Milliseconds from now until us (rounded up, so as not to wake early). */
int lk_ms_until(uint64_t now, uint64_t us);

/* Raises the open file limit to the hard one; -1 if even that is too low
 * for count connections (asked for by option; else "raise it or VERB
 * fewer"). */
int lk_raise_fd_limit(const char *option, long count, const char *verb);

#endif
