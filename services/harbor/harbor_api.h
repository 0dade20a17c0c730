/* harbor_api.h: what other services may ask of this node's harbor
 * (api.c), rather than reach into its state: whether one runs, what it
 * knows of each node's link and load, and being told when nodes go up or
 * down. Every call is safe on a node without a harbor. */
#ifndef WISP_HARBOR_API_H
#define WISP_HARBOR_API_H

#include <stdint.h>
#include "wisp.h"

/* Whether this node runs a harbor. */
int wisp_harbor_running(void);
/* Whether another node is up as this one knows it: as the directory says,
 * or, in a cluster without roots (no directory), whenever it has a harbor
 * address. 0 without a harbor. */
int wisp_harbor_node_up(uint32_t node);

/* What the harbor knows of the link to a node. */
struct wisp_harbor_link {
	int up;        /* the directory says it is up */
	int linked;    /* this node's connection to it is up */
	uint64_t bytes_in, bytes_out, frames_in, frames_out;
	uint64_t named_out; /* messages sent to it by name */
};
/* 0 with what is known of node's link in *out, or -1 (no harbor, or no
 * link to it) with *out zeroed. */
int wisp_harbor_link_of(uint32_t node, struct wisp_harbor_link *out);

/* service is told (WISP_MSG_NODE) when a node goes up or down, once
 * however often it asks, until unwatch or a message to it fails: 0, or
 * -1 without a harbor. */
int wisp_harbor_watch_nodes(wisp_handle service);
void wisp_harbor_unwatch_nodes(wisp_handle service);

/* Asks the root for every node's load, now and from now on. */
void wisp_harbor_watch_loads(void);
/* 0 with node's load as the root last said it (this node's own too):
 * live services and thousandths of a core; -1 while it is not known. */
int wisp_harbor_load(uint32_t node, uint32_t *services, uint32_t *cpu);
/* Counts one more service on node until its next report, so that picks
 * made between two reports spread. */
void wisp_harbor_count_pick(uint32_t node);

#endif
