/* remote.h: how messages leave the node. The harbor service implements
 * these (services/harbor/route.c); when a node runs no harbor, every
 * other node is unreachable and these fail. */
#ifndef WISP_REMOTE_H
#define WISP_REMOTE_H

#include <stddef.h>
#include "wisp.h"

/* Both take data and answer a failed request themselves (an ERROR to
 * source); 0 when the message is on its way, -1 otherwise. */
int wisp_remote_send(wisp_handle source, wisp_handle dest, int type,
	int session, void *data, size_t sz);
/* To the service called name on the node called node. */
int wisp_remote_send_named(wisp_handle source, const char *node,
	const char *name, int type, int session, void *data, size_t sz);
/* The handle of the service called name on node (an id), as that node
 * said when asked, or 0: not known yet (the harbor asks, and a later call
 * finds the answer), nobody holds it, or the node is down. */
wisp_handle wisp_remote_resolve(uint32_t node, const char *name);
/* A number that changes whenever what wisp_remote_resolve said of node
 * may have gone stale: the node went down, came back or its link was
 * lost, or it said that a handle it gave is gone. */
uint32_t wisp_remote_epoch(uint32_t node);
/* Why the harbor refused the last message it could not send, as the
 * sender's ERROR says it ("node game2 is down"): for the logs of those
 * who send without a session to hear it. */
const char *wisp_remote_refusal(void);
/* The holder of a cluster-wide name, or 0. */
wisp_handle wisp_remote_global(const char *name);
/* A service with cluster-wide names exited: they go with it. */
void wisp_remote_gone(wisp_handle h);
/* Whether a harbor runs: a node in a cluster keeps running while it has
 * no services of its own, to serve the others. */
int wisp_remote_active(void);
/* Writes out what the harbor has buffered; after every scheduler round. */
void wisp_remote_flush(void);

#endif
