/* logger.c: the logger service. It writes the lines other services send
 * it to stdout or to a file, and reopens the file on SIGHUP so that log
 * rotation works; its timer makes log.c write the counts of lines held
 * back by flood control. Linked into the executable: it must exist before
 * any module path is known to be right. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include "log.h"

struct logger {
	FILE *out;
	char *path; /* NULL for stdout */
};

static void *logger_create(void)
{
	struct logger *lg = wisp_malloc(sizeof(*lg));
	lg->out = NULL;
	lg->path = NULL;
	return lg;
}

static int write_line(struct wisp_context *ctx, void *ud, int type,
	int session, wisp_handle source, void *msg, size_t sz)
{
	(void)ctx; (void)session; (void)source;
	struct logger *lg = ud;
	if (type == WISP_MSG_TIMER) /* armed by log.c for its counts */
		wisp_log_flush();
	if (type == WISP_MSG_TEXT && lg->out) {
		fwrite(msg, 1, sz, lg->out);
		fflush(lg->out);
	}
	return 0;
}

static int logger_init(void *inst, struct wisp_context *ctx, const char *args)
{
	struct logger *lg = inst;
	if (args[0] == '\0') {
		lg->out = stdout;
	} else {
		lg->path = wisp_strdup(args);
		lg->out = fopen(args, "a");
		if (lg->out == NULL)
			return wisp_fail(ctx, "cannot open log file %s: %s", args,
				strerror(errno));
	}
	wisp_set_callback(ctx, lg, write_line);
	return 0;
}

static void logger_release(void *inst)
{
	struct logger *lg = inst;
	if (lg->path && lg->out)
		fclose(lg->out);
	wisp_free(lg->path);
	wisp_free(lg);
}

/* SIGHUP: the file may have been moved away by a rotation; reopen it. */
static void logger_signal(void *inst, int sig)
{
	struct logger *lg = inst;
	if (sig != SIGHUP || lg->path == NULL)
		return;
	FILE *f = fopen(lg->path, "a");
	if (f == NULL)
		return; /* keep writing to the old file rather than nowhere */
	fclose(lg->out);
	lg->out = f;
}

const struct wisp_module wisp_logger_module = {
	.name = "logger",
	.create = logger_create,
	.init = logger_init,
	.release = logger_release,
	.signal = logger_signal,
};
