/* log.h: formatting log lines and handing them to the logger service. */
#ifndef WISP_LOG_H
#define WISP_LOG_H

#include "module.h"
#include "wisp.h"

void wisp_log_init(const char *node_name, int level);
/* From now on lines go to this service; before, and once it is gone,
 * they go to stderr. */
void wisp_log_attach(wisp_handle logger);
wisp_handle wisp_log_handle(void);
void wisp_log_set_level(int level);
int wisp_log_level(void);
const char *wisp_log_level_name(int level);
/* "debug", "info", "warn" or "error"; -1 for anything else. */
int wisp_log_level_parse(const char *name);

#endif
