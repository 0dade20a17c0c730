/* log.c: wisp_log. Lines are formatted by the caller, so the logger only
 * writes bytes; each carries time, level, node, service and handle. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "handle.h"
#include "log.h"
#include "service.h"

static struct {
	char node[64];
	int level;
	wisp_handle logger;
} L = { "?", WISP_LOG_INFO, 0 };

static const char *const level_names[] = { "debug", "info", "warn", "error" };

void wisp_log_init(const char *node_name, int level)
{
	snprintf(L.node, sizeof(L.node), "%s", node_name);
	L.level = level;
	L.logger = 0;
}

void wisp_log_attach(wisp_handle logger)
{
	L.logger = logger;
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

/* "2026-11-21 15:42:40.123 INFO  node echo:00400002 " */
static int prefix(char *buf, size_t sz, struct wisp_context *ctx, int level)
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
	return snprintf(buf, sz, "%s.%03ld %s %s %s:%08x ", when,
		ts.tv_nsec / 1000000, tags[level], L.node,
		wisp_service_label(ctx), ctx->handle);
}

void wisp_log(struct wisp_context *ctx, int level, const char *fmt, ...)
{
	if (level < L.level || level < WISP_LOG_DEBUG || level > WISP_LOG_ERROR)
		return;
	char line[4096];
	int n = prefix(line, sizeof(line) - 1, ctx, level);
	va_list ap;
	va_start(ap, fmt);
	n += vsnprintf(line + n, sizeof(line) - 1 - (size_t)n, fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(line) - 2)
		n = (int)sizeof(line) - 2; /* cut long lines, keep the newline */
	line[n++] = '\n';
	if (wisp_handle_grab(L.logger) == NULL) {
		fwrite(line, 1, (size_t)n, stderr);
		return;
	}
	char *copy = memcpy(wisp_malloc((size_t)n), line, (size_t)n);
	wisp_deliver(ctx ? ctx->handle : 0, L.logger, WISP_MSG_TEXT, 0, copy,
		(size_t)n);
}
