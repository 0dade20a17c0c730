/* cluster.h: the directory's messages between harbors (WISP_MSG_CLUSTER),
 * one short line of text each, spelled out in HARBOR.md. */
#ifndef WISP_CLUSTER_H
#define WISP_CLUSTER_H

#include <stddef.h>
#include <stdint.h>
#include "wire.h"

#define WISP_CLUSTER_MAX 128 /* the longest message */

enum wisp_cluster_op {
	WISP_CLUSTER_JOIN,     /* node -> root: I am here */
	WISP_CLUSTER_WELCOME,  /* root -> node: joined */
	WISP_CLUSTER_UP,       /* root -> nodes: node <value> is up */
	WISP_CLUSTER_DOWN,     /* root -> nodes: node <value> is down */
	WISP_CLUSTER_REGISTER, /* service -> root: claim <name> */
	WISP_CLUSTER_NAME,     /* root -> nodes: <name> is held by <value> */
	WISP_CLUSTER_UNNAME,   /* root -> nodes: <name> is free */
	WISP_CLUSTER_GONE,     /* node -> root: service <value> exited */
	WISP_CLUSTER_REPORT,   /* node -> root: my load is <numbers> */
	WISP_CLUSTER_WATCH,    /* node -> root: send me every node's load */
	WISP_CLUSTER_LOAD,     /* root -> watcher: node <value>'s load */
	WISP_CLUSTER_RESOLVE,  /* harbor -> harbor: who holds your <name>? */
	WISP_CLUSTER_RESOLVED, /* harbor -> harbor: <name> is <value> (0: none) */
	WISP_CLUSTER_STALE,    /* harbor -> harbor: my <value> is gone */
};

/* A load: the node's live services, and the CPU its process used over the
 * last report's interval, in thousandths of one core. */
enum { WISP_LOAD_SERVICES, WISP_LOAD_CPU, WISP_LOAD_NUMBERS };

struct wisp_cluster_cmd {
	int op;
	char name[WISP_NAME_MAX + 1];
	uint32_t value; /* a node id or a handle */
	uint32_t numbers[WISP_LOAD_NUMBERS]; /* report and load: the load */
};

/* 0, or -1 when data is not one well-formed message. */
int wisp_cluster_parse(const void *data, size_t sz,
	struct wisp_cluster_cmd *cmd);
/* Writes cmd's text into out (WISP_CLUSTER_MAX bytes); returns its size. */
size_t wisp_cluster_format(const struct wisp_cluster_cmd *cmd, char *out);

#endif
