/* timer.h: a hierarchical timing wheel with millisecond ticks. It knows
 * nothing of services: expiries are handed to a callback, and a pending
 * timer is named by its owner and session. Adding, cancelling and firing
 * each take O(1) expected time. */
#ifndef WISP_TIMER_H
#define WISP_TIMER_H

#include <stddef.h>
#include <stdint.h>
#include "wisp.h"

struct wisp_wheel;
typedef void (*wisp_wheel_fire)(void *ud, wisp_handle owner, int session);

/* now_ms: the current time on any monotonic millisecond clock. */
struct wisp_wheel *wisp_wheel_new(uint64_t now_ms);
void wisp_wheel_free(struct wisp_wheel *w);
/* Fires once the wheel has advanced delay_ms past its current time. */
int wisp_wheel_add(struct wisp_wheel *w, uint32_t delay_ms, wisp_handle owner,
	int session);
/* Removes the pending timer of owner with this session, if any: 1 if one
 * was removed, 0 if none was pending (already fired or never added).
 * Sessions are normally unique per owner; if the same owner and session
 * are pending more than once, this removes the one added last. */
int wisp_wheel_cancel(struct wisp_wheel *w, wisp_handle owner, int session);
/* Moves the wheel to now_ms, firing every due timer in expiry order
 * (ties in the order they were added). A clock that goes back is ignored.
 * fire may add and cancel timers; the one it is given is no longer
 * pending. */
void wisp_wheel_advance(struct wisp_wheel *w, uint64_t now_ms,
	wisp_wheel_fire fire, void *ud);
/* Milliseconds from the wheel's current time until the next timer may be
 * due: 0 if one is due now, -1 if there are none. May be earlier than the
 * true expiry (never later), so a poll can sleep that long. */
int wisp_wheel_next(const struct wisp_wheel *w);
size_t wisp_wheel_count(const struct wisp_wheel *w);
/* The time the wheel has advanced to. */
uint64_t wisp_wheel_time(const struct wisp_wheel *w);

#endif
