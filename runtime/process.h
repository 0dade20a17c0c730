/* process.h: the node's process as the kernel counts it (process.c). */
#ifndef WISP_PROCESS_H
#define WISP_PROCESS_H

#include <stdint.h>

struct wisp_process_stats {
	double cpu_seconds;      /* user and system, since the start */
	uint64_t resident_bytes; /* RSS */
	uint64_t open_fds, max_fds; /* max_fds: 0 when unlimited */
	double start_time;       /* seconds since the epoch */
};

void wisp_process_stats(struct wisp_process_stats *s);

/* Raises the soft limit on open files to need, or as far as the hard
 * limit lets it, never lowering it; 0 when it is now at least need, else
 * -1. *was and *now get the limit before and after (UINT64_MAX for
 * unlimited). */
int wisp_fd_limit_raise(uint64_t need, uint64_t *was, uint64_t *now);

#endif
