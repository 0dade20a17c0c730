/* node.h: bringing one node up from its config, running it, taking it
 * down. */
#ifndef WISP_NODE_H
#define WISP_NODE_H

#include <stddef.h>
#include "config.h"

/* Runs the node until it stops; returns the process exit code. When it
 * cannot start, writes one line saying why to stderr and returns 1. */
int wisp_node_run(const struct wisp_config *cfg);
const char *wisp_node_name(void);
/* 1 while the node starts the services its config names: a Lua service
 * started then is part of the node, and its failing to start fails the
 * node. */
int wisp_node_starting(void);
/* The running node's config, or NULL outside a node (in unit tests). */
const struct wisp_config *wisp_node_config(void);

#endif
