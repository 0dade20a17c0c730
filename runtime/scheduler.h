/* scheduler.h: the node's one loop: the ready queue of services with
 * mail, timers and socket polling, and the orderly stop. */
#ifndef WISP_SCHEDULER_H
#define WISP_SCHEDULER_H

#include <stdint.h>
#include "wisp.h"

struct wisp_context;

/* How many messages a service handles in one turn before the next
 * service with mail gets its turn. */
#define WISP_QUOTA 64

void wisp_scheduler_init(uint32_t stop_timeout_ms);
/* A turn that runs longer than this is logged as a WARN naming the
 * service and the message type (the config's handler_warn); 0: never. */
void wisp_scheduler_warn(uint32_t handler_warn_ms);
void wisp_scheduler_exit(void);
/* Puts a service with mail (or a dead one) on the ready queue. */
void wisp_schedule(struct wisp_context *ctx);
/* Runs until the node stops; returns the node's exit code. */
int wisp_scheduler_run(void);
/* Runs every ready service until none is left; for tests and start-up. */
void wisp_scheduler_drain(void);
/* Asks for an orderly stop: every service gets WISP_MSG_EXIT, and those
 * still alive after the stop timeout are retired anyway. */
void wisp_scheduler_stop(int code);

#endif
