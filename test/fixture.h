/* fixture.h: brings the runtime up without a config, for unit tests that
 * run real services in-process. */
#ifndef WISP_FIXTURE_H
#define WISP_FIXTURE_H

#include "handle.h"
#include "log.h"
#include "module.h"
#include "names.h"
#include "scheduler.h"
#include "service.h"
#include "socket.h"
#include "trace.h"

static void fixture_deliver(wisp_handle owner, struct wisp_socket_msg *msg,
	size_t sz)
{
	wisp_deliver(0, owner, WISP_MSG_SOCKET, 0, msg, sz);
}

static inline void fixture_up(uint32_t stop_timeout_ms)
{
	wisp_log_init("test", WISP_LOG_WARN);
	wisp_handles_init(1);
	wisp_trace_init(1, 0);
	wisp_scheduler_init(stop_timeout_ms);
	wisp_net_init(1 << 20, fixture_deliver);
	wisp_modules_init("");
}

/* Stops whatever still runs (services that ignore WISP_MSG_EXIT are
 * retired after the stop timeout), then frees the runtime. */
static inline void fixture_down(void)
{
	wisp_scheduler_stop(0);
	wisp_scheduler_run();
	wisp_net_exit();
	wisp_scheduler_exit();
	wisp_names_exit();
	wisp_handles_exit();
	wisp_modules_exit();
}

#endif
