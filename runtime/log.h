/* log.h: formatting log lines and handing them to the logger service,
 * with flood control: a place may log a burst, then a few lines a second,
 * and the node at most log_rate lines a second; the rest are counted. */
#ifndef WISP_LOG_H
#define WISP_LOG_H

#include <stdint.h>
#include "module.h"
#include "wisp.h"

/* log_rate's default: lines a second the node may log. */
#define WISP_LOG_RATE 1000

void wisp_log_init(const char *node_name, int level);
/* Lines a second the node may log (over it, lines are counted and
 * dropped); 0 turns flood control off, per place too. */
void wisp_log_set_rate(uint32_t lines_per_s);
/* From now on lines go to this service; before, and once it is gone,
 * they go to stderr. */
void wisp_log_attach(wisp_handle logger);
wisp_handle wisp_log_handle(void);
void wisp_log_set_level(int level);
int wisp_log_level(void);
const char *wisp_log_level_name(int level);
/* "debug", "info", "warn" or "error"; -1 for anything else. */
int wisp_log_level_parse(const char *name);
/* wisp_log for lines whose call site is not a C format string (a Lua
 * script's): place names it, such as "chunk.lua:12", for flood control. */
void wisp_log_at(struct wisp_context *ctx, int level, const char *place,
	const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Logs the counts of lines held back. The logger calls it when the timer
 * that the first held line armed on it fires. */
void wisp_log_flush(void);

#endif
