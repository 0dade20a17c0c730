/* api.c: the gate's read-only face for other services (gate_api.h): its
 * counters by name, so that a reader (the console) need not know how the
 * gate keeps them. */
#include <stdio.h>
#include "gate_api.h"
#include "gate_service.h"

/* The counters of commands that ended with no reply, by why. */
static const char *const failure_names[GATE_FAILURES] = { "unrouted",
	"overloaded", "unreachable", "service_exited", "handler_failed",
	"timed_out" };

int wisp_gate_counters(void (*fn)(void *ud, const char *name,
	uint64_t value), void *ud)
{
	const struct gate *g = wisp_gate_active;
	if (g == NULL)
		return -1;
	const struct gate_stats *s = &g->stats;
	fn(ud, "connections", g->count);
	fn(ud, "accepted", s->accepted);
	fn(ud, "refused", s->refused);
	fn(ud, "frames_in", s->frames_in);
	fn(ud, "frames_out", s->frames_out);
	fn(ud, "bytes_in", s->bytes_in);
	fn(ud, "bytes_out", s->bytes_out);
	fn(ud, "bad_frames", s->bad_frames);
	fn(ud, "slow_dropped", s->slow_dropped);
	fn(ud, "idle_closed", s->idle_closed);
	fn(ud, "rate_closed", s->rate_closed);
	fn(ud, "kicked", s->kicked);
	char name[48];
	for (int i = 0; i < GATE_FAILURES; i++) {
		fn(ud, failure_names[i], s->failed[i]);
		snprintf(name, sizeof(name), "error_frames_%s", failure_names[i]);
		fn(ud, name, s->error_frames[i]);
	}
	fn(ud, "in_flight", g->cmds.count);
	fn(ud, "throttled", s->throttled);
	fn(ud, "frame_closed", s->frame_closed);
	fn(ud, "budget_closed", s->budget_closed);
	fn(ud, "address_refused", s->address_refused);
	return 0;
}
