/* remote.h: how messages leave the node. The runtime knows no harbor: a
 * service that links nodes (services/harbor/route.c) registers a table of
 * hooks when it starts and takes it back when it stops, as skynet's core
 * knows its harbor only by a handle. With none registered, every other
 * node is unreachable, and the calls below say so. */
#ifndef WISP_REMOTE_H
#define WISP_REMOTE_H

#include <stddef.h>
#include <stdint.h>
#include "wisp.h"

/* What the linking service does for each call below of the same name.
 * send and send_named take data and answer a failed request themselves
 * (wisp_remote_refuse). */
struct wisp_remote_ops {
	int (*send)(wisp_handle source, wisp_handle dest, int type, int session,
		void *data, size_t sz);
	int (*send_named)(wisp_handle source, const char *node, const char *name,
		int type, int session, void *data, size_t sz);
	wisp_handle (*resolve)(uint32_t node, const char *name);
	uint32_t (*epoch)(uint32_t node);
	wisp_handle (*global)(const char *name);
	void (*gone)(wisp_handle h);
	void (*flush)(void);
};

/* From now on messages leave through ops (which must outlive its use);
 * NULL takes the hooks back: no other node is reachable any more. */
void wisp_remote_register(const struct wisp_remote_ops *ops);

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
/* Refuses a message that cannot leave: remembers why (for
 * wisp_remote_refusal) and answers a request with it; -1. The caller
 * frees the data. */
int wisp_remote_refuse(wisp_handle source, int session, int type,
	const char *why);
/* Why the last message that could not leave was refused, as the sender's
 * ERROR says it ("node game2 is down"): for the logs of those who send
 * without a session to hear it. */
const char *wisp_remote_refusal(void);
/* The holder of a cluster-wide name, or 0. */
wisp_handle wisp_remote_global(const char *name);
/* A service with cluster-wide names exited: they go with it. */
void wisp_remote_gone(wisp_handle h);
/* Whether hooks are registered (a harbor runs): a node in a cluster keeps
 * running while it has no services of its own, to serve the others. */
int wisp_remote_active(void);
/* Writes out what the hooks have buffered; after every scheduler round. */
void wisp_remote_flush(void);

#endif
