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
