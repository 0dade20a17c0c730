/* log.c: wisp_log and the flood control in front of it. Lines are
 * formatted by the caller, so the logger only writes bytes; each carries
 * time, level, node, service and handle.
 * Flood control: a place (one call site in one service: a C format
 * string, or a Lua chunk and line) may log a burst of lines, then a few a
 * second; the node as a whole at most log_rate lines a second. Lines held
 * back are counted, and the count is logged in their stead, at most about
 * once a second, so no input can make the log grow faster than that.
 * log_rate 0 turns all of it off, for whoever must see every line.
 * A service's line written while it handles a traced message names the
 * trace after the service, and a copy is kept for `wisp-ctl trace`. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "clock.h"
#include "handle.h"
#include "log.h"
#include "service.h"
#include "trace.h"

#define PLACES 256       /* the table of places (a power of two) */
#define PROBE 8          /* slots a place may sit in, from its hash on */
#define PLACE_BURST 10   /* lines a quiet place may log at once */
#define PLACE_RATE 5     /* then lines a second */
#define NODE_BURST_S 2   /* the node's burst: seconds' worth of log_rate */
#define SUMMARY_MS 1000  /* a count is logged at most about this often */
#define NS_PER_S 1000000000ull
#define SUMMARY_NS (SUMMARY_MS * 1000000ull)

/* A place and what it logged lately. Slots are reused, the least recently
 * used first: the table cannot grow, whatever the number of places. */
struct place {
	uint64_t key;    /* a hash of the place and the service; 0: free */
	uint64_t due;    /* when its next line is due (see pace) */
	uint64_t last;   /* its last line, kept or not */
	uint64_t since;  /* its first line held back since its last count */
	uint32_t held;   /* lines held back since then */
	int level;       /* the highest level among them */
	wisp_handle handle;
	char name[80];
};

static struct {
	char node[64];
	int level;
	wisp_handle logger;
	uint32_t rate;        /* log_rate: lines a second, 0: no flood control */
	uint64_t due;         /* the node's pace */
	uint64_t dropped;     /* lines over log_rate since the last count */
	uint64_t dropped_since;
	int dropped_level;
	int flush_armed;      /* the logger's timer will call wisp_log_flush */
	struct place places[PLACES];
} L = { "?", WISP_LOG_INFO, 0, WISP_LOG_RATE, 0, 0, 0, 0, 0, { { 0 } } };

static const char *const level_names[] = { "debug", "info", "warn", "error" };

void wisp_log_init(const char *node_name, int level)
{
	snprintf(L.node, sizeof(L.node), "%s", node_name);
	L.level = level;
	L.logger = 0;
	L.rate = WISP_LOG_RATE;
	L.due = L.dropped = 0;
	L.flush_armed = 0;
	memset(L.places, 0, sizeof(L.places));
}

void wisp_log_set_rate(uint32_t lines_per_s)
{
	L.rate = lines_per_s;
}

void wisp_log_attach(wisp_handle logger)
{
	L.logger = logger;
	L.flush_armed = 0; /* a timer of an earlier logger will not come */
}

wisp_handle wisp_log_handle(void)
{
	return L.logger;
}

void wisp_log_set_level(int level)
{
	L.level = level;
}

int wisp_log_level(void)
{
	return L.level;
}

const char *wisp_log_level_name(int level)
{
	return level >= 0 && level < 4 ? level_names[level] : "?";
}

int wisp_log_level_parse(const char *name)
{
	for (int i = 0; i < 4; i++)
		if (strcmp(name, level_names[i]) == 0)
			return i;
	return -1;
}

/* "2026-11-21 15:42:40.123 INFO  node echo:00400002 ", then
 * "trace=0123456789abcdef " when trace is not 0 */
static int prefix(char *buf, size_t sz, struct wisp_context *ctx, int level,
	uint64_t trace)
{
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	localtime_r(&ts.tv_sec, &tm);
	char when[32];
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
	static const char *const tags[] = { "DEBUG", "INFO ", "WARN ", "ERROR" };
	if (ctx == NULL)
		return snprintf(buf, sz, "%s.%03ld %s %s wisp ", when,
			ts.tv_nsec / 1000000, tags[level], L.node);
	if (trace == 0)
		return snprintf(buf, sz, "%s.%03ld %s %s %s:%08x ", when,
			ts.tv_nsec / 1000000, tags[level], L.node,
			wisp_service_label(ctx), ctx->handle);
	return snprintf(buf, sz, "%s.%03ld %s %s %s:%08x trace=%016llx ", when,
		ts.tv_nsec / 1000000, tags[level], L.node, wisp_service_label(ctx),
		ctx->handle, (unsigned long long)trace);
}

/* The logger's mail carries no trace: writing a line is not the
 * trace's work. */
static void to_logger(struct wisp_context *ctx, char *line, size_t n)
{
	uint64_t trace = wisp_trace_swap(0);
	wisp_deliver(ctx ? ctx->handle : 0, L.logger, WISP_MSG_TEXT, 0, line, n);
	wisp_trace_swap(trace);
}

/* Formats one line and hands it to the logger (to stderr without one). */
static void write_line(struct wisp_context *ctx, int level, const char *fmt,
	va_list ap)
{
	char line[4096];
	uint64_t trace = ctx ? wisp_trace_now.current : 0;
	int n = prefix(line, sizeof(line) - 1, ctx, level, trace);
	n += vsnprintf(line + n, sizeof(line) - 1 - (size_t)n, fmt, ap);
	if (n > (int)sizeof(line) - 2)
		n = (int)sizeof(line) - 2; /* cut long lines, keep the newline */
	line[n++] = '\n';
	if (trace)
		wisp_trace_note_line(trace, line, (size_t)n);
	if (wisp_handle_grab(L.logger) == NULL) {
		fwrite(line, 1, (size_t)n, stderr);
		return;
	}
	to_logger(ctx, memcpy(wisp_malloc((size_t)n), line, (size_t)n),
		(size_t)n);
}

__attribute__((format(printf, 3, 4)))
static void put(struct wisp_context *ctx, int level, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	write_line(ctx, level, fmt, ap);
	va_end(ap);
}

/* The generic cell rate algorithm: one line is due every period ns, and a
 * line may come up to slack ns early; slack / period + 1 lines of burst. */
static int pace(uint64_t *due, uint64_t now, uint64_t period, uint64_t slack)
{
	if (*due > now + slack)
		return 0;
	*due = (*due > now ? *due : now) + period;
	return 1;
}

static double seconds(uint64_t ns)
{
	return (double)ns / (double)NS_PER_S;
}

/* Counts are logged when the logger's timer fires, so that a count is
 * not lost when its flood stops. */
static void arm_flush(void)
{
	struct wisp_context *logger = wisp_handle_grab(L.logger);
	if (L.flush_armed || logger == NULL)
		return;
	wisp_timeout(logger, SUMMARY_MS, 0);
	L.flush_armed = 1;
}

static void drop(int level, uint64_t now, uint64_t lines)
{
	if (L.dropped == 0) {
		L.dropped_since = now;
		L.dropped_level = level;
	}
	L.dropped += lines;
	if (level > L.dropped_level)
		L.dropped_level = level;
	arm_flush();
}

/* Not held to log_rate: it is the limit's own line, once a second. */
static void report_dropped(uint64_t now)
{
	if (L.dropped == 0)
		return;
	put(NULL, L.dropped_level, "dropped %llu lines in the last %.1f s: "
		"log_rate (%u lines/s) reached", (unsigned long long)L.dropped,
		seconds(now - L.dropped_since), L.rate);
	L.dropped = 0;
}

/* Whether the node may log one more line now. The runtime's own lines
 * (own) are not held to log_rate, so that the node's life is always in
 * the log: their places are few and each is paced. */
static int node_admits(int own, uint64_t now)
{
	if (own || L.rate == 0)
		return 1;
	uint64_t period = NS_PER_S / L.rate;
	uint64_t slack = period * ((uint64_t)L.rate * NODE_BURST_S - 1);
	if (!pace(&L.due, now, period, slack))
		return 0;
	if (L.dropped && now - L.dropped_since >= SUMMARY_NS)
		report_dropped(now);
	return 1;
}

/* Logs how many lines p held back; over log_rate, they join the dropped. */
static void report(struct place *p, uint64_t now)
{
	uint32_t held = p->held;
	p->held = 0;
	if (!node_admits(p->handle == 0, now)) {
		drop(p->level, now, held);
		return;
	}
	struct wisp_context *ctx = p->handle ? wisp_handle_grab(p->handle) : NULL;
	char of[16] = "";
	if (p->handle && ctx == NULL) /* the service is gone: name it */
		snprintf(of, sizeof(of), " of :%08x", p->handle);
	put(ctx, p->level, "suppressed %u similar lines from %s%s in the last "
		"%.1f s", held, p->name, of, seconds(now - p->since));
}

static void hold(struct place *p, int level, uint64_t now)
{
	if (p->held == 0) {
		p->since = now;
		p->level = level;
	}
	p->held++;
	if (level > p->level)
		p->level = level;
	arm_flush();
}

static void claim(struct place *p, uint64_t key, wisp_handle handle,
	const char *name, int is_format, uint64_t now)
{
	if (p->held)
		report(p, now); /* its count goes out before it does */
	memset(p, 0, sizeof(*p));
	p->key = key;
	p->due = now;
	p->handle = handle;
	if (!is_format)
		snprintf(p->name, sizeof(p->name), "%s", name);
	else if (strlen(name) > 50)
		snprintf(p->name, sizeof(p->name), "\"%.50s...\"", name);
	else
		snprintf(p->name, sizeof(p->name), "\"%s\"", name);
}

/* The slot of key: the one it has, or the least recently used of those it
 * may take (a free one has never been used). */
static struct place *find(uint64_t key, wisp_handle handle, const char *name,
	int is_format, uint64_t now)
{
	struct place *oldest = NULL;
	for (uint64_t i = 0; i < PROBE; i++) {
		struct place *p = &L.places[(key + i) & (PLACES - 1)];
		if (p->key == key)
			return p;
		if (oldest == NULL || p->last < oldest->last)
			oldest = p;
	}
	claim(oldest, key, handle, name, is_format, now);
	return oldest;
}

/* splitmix64's finalizer; never 0, which marks a free slot. */
static uint64_t mix(uint64_t x)
{
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	x ^= x >> 31;
	return x ? x : 1;
}

/* Whether a line from this place may be written now; if not, it is
 * counted. log_rate 0 turns flood control off. */
static int admit(struct wisp_context *ctx, int level, uint64_t key,
	const char *name, int is_format)
{
	if (L.rate == 0)
		return 1;
	uint64_t now = wisp_clock_ns();
	wisp_handle handle = ctx ? ctx->handle : 0;
	struct place *p = find(mix(mix(key) ^ handle), handle, name, is_format,
		now);
	p->last = now;
	uint64_t period = NS_PER_S / PLACE_RATE;
	if (!pace(&p->due, now, period, period * (PLACE_BURST - 1))) {
		hold(p, level, now);
		return 0;
	}
	if (p->held && now - p->since >= SUMMARY_NS)
		report(p, now);
	if (node_admits(ctx == NULL, now))
		return 1;
	drop(level, now, 1);
	return 0;
}

static int wanted(int level)
{
	return level >= L.level && level >= WISP_LOG_DEBUG
		&& level <= WISP_LOG_ERROR;
}

void wisp_log(struct wisp_context *ctx, int level, const char *fmt, ...)
{
	/* a format string's address names its call site */
	if (!wanted(level) || !admit(ctx, level, (uintptr_t)fmt, fmt, 1))
		return;
	va_list ap;
	va_start(ap, fmt);
	write_line(ctx, level, fmt, ap);
	va_end(ap);
}

/* FNV-1a */
static uint64_t hash_text(const char *s)
{
	uint64_t h = 14695981039346656037ull;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

void wisp_log_at(struct wisp_context *ctx, int level, const char *place,
	const char *fmt, ...)
{
	if (!wanted(level) || !admit(ctx, level, hash_text(place), place, 0))
		return;
	va_list ap;
	va_start(ap, fmt);
	write_line(ctx, level, fmt, ap);
	va_end(ap);
}

void wisp_log_flush(void)
{
	uint64_t now = wisp_clock_ns();
	for (int i = 0; i < PLACES; i++)
		if (L.places[i].held)
			report(&L.places[i], now);
	report_dropped(now);
	L.flush_armed = 0;
}
