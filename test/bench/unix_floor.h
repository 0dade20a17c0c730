/* unix_floor.h: the kernel's floor under a call between two processes on
 * one host: round trips over a Unix socket pair, measured in the run of
 * the figure it bounds. */
#ifndef WISP_UNIX_FLOOR_H
#define WISP_UNIX_FLOOR_H

/* Round trips a second of a small message between two processes that
 * poll their ends without sleeping, best of a few rounds; -1 on failure. */
double unix_round_trip_floor(void);

#endif
