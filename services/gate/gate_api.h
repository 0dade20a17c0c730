/* gate_api.h: what other services may read of this node's gate (api.c),
 * rather than reach into its state. */
#ifndef WISP_GATE_API_H
#define WISP_GATE_API_H

#include <stdint.h>

/* Calls fn with each of the gate's counters by name: its clients now,
 * what it accepted, read and wrote, why it closed clients, and how many
 * commands ended with no reply, by why. 0, or -1 when this node runs no
 * gate. */
int wisp_gate_counters(void (*fn)(void *ud, const char *name,
	uint64_t value), void *ud);

#endif
