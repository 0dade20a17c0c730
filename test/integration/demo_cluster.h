/* demo_cluster.h: the demo cluster (conf/demo.lua) for tests and
 * benchmarks: root, db, game1..game3, lobby and net, each its own process
 * on free ports, the database in a temporary directory. */
#ifndef WISP_DEMO_CLUSTER_H
#define WISP_DEMO_CLUSTER_H

#include "proc.h"

#define DEMO_GAMES 3 /* conf/demo.lua's default */
#define DEMO_NODES (DEMO_GAMES + 4)

struct demo_cluster {
	const char *wisp_exe;
	char conf[512];
	char dir[64];     /* the temporary directory: the database */
	char gate[32];    /* "127.0.0.1:PORT" of the net node's gate */
	int gate_port;
	char env_base[64], env_gate[64], env_db[128];
	char env_per_address[48];
};

/* The node names, in the order they start: the game nodes from
 * DEMO_FIRST_GAME on, net last. */
#define DEMO_FIRST_GAME 2
extern const char *const demo_node_names[DEMO_NODES];

/* Picks the ports and makes the directory: 0, or -1 saying why. */
int demo_init(struct demo_cluster *d, const char *wisp_exe,
	const char *source_root);
/* Starts every node into run[0..DEMO_NODES) and waits until each says it
 * is up (start_ms at most): 0, or -1 saying which was not. */
int demo_start(struct demo_cluster *d, struct proc *run, int start_ms);
/* Stops the nodes, net first: each must exit 0 with nothing on stderr and
 * no ERROR in its log. The number of nodes that did not, said on stderr. */
int demo_stop(struct proc *run, int stop_ms);
/* Starts wisp-bots (bots_exe) into p: bots bots in rooms rooms, with the
 * extra arguments (NULL-terminated, at most 24), against d's gate: 0, or
 * -1. */
int demo_start_bots(const struct demo_cluster *d, struct proc *p,
	const char *bots_exe, long bots, long rooms, char **extra);
/* Whether wisp-bots' output says "summary: WHAT N of M expected" with N
 * equal to M and M above 0; says on stderr what it found when not. */
int demo_delivered(const char *bots_out, const char *what);
/* Removes the directory and what sqlite put in it, and the files named
 * (in the directory) by extra, NULL-terminated (may be NULL). */
void demo_remove(struct demo_cluster *d, const char *const *extra);

#endif
