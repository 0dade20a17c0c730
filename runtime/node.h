/* node.h: bringing one node up from its config, running it, taking it
 * down. */
#ifndef WISP_NODE_H
#define WISP_NODE_H

#include <stddef.h>
#include "config.h"
#include "wisp.h"

/* What the executable adds to every node it runs (services/builtin.c):
 * the runtime knows no service of its own. Without it a node finds
 * modules only on its module path, logs to stderr and starts only the
 * services its config names. */
struct wisp_node_boot {
	/* Makes the modules linked into the executable findable
	 * (wisp_module_builtin), once the module path is known. */
	void (*modules)(void);
	/* The module of the logger, started first with the log file (or "")
	 * as its arguments; NULL for none. */
	const char *logger;
	/* Starts the services the node is made of (wisp_node_start), before
	 * those its config names: 0, or -1 once one could not start. */
	int (*start)(const struct wisp_config *cfg);
};
/* Set once, before any node runs; b must outlive the nodes. */
void wisp_node_boot(const struct wisp_node_boot *b);
/* Starts one of the services the node is made of, saying on stderr why
 * it could not (what names it there): its handle, or 0. A lasting one
 * stays to the end of a stop. */
wisp_handle wisp_node_start(const char *what, const char *module,
	const char *args, int lasting);

/* The command line (cli.c): `wisp CONFIG NODE` runs a node, `wisp CONFIG`
 * the master, `wisp --check CONFIG [NODE]` checks the config; the process
 * exit code. The executable's main registers what it adds first. */
int wisp_main(int argc, char **argv);

/* Runs the node until it stops; returns the process exit code. When it
 * cannot start, writes one line saying why to stderr and returns 1. */
int wisp_node_run(const struct wisp_config *cfg);
const char *wisp_node_name(void);
/* The directory of the running executable, and whether it is the build
 * tree's (build/wisp): that one takes the source tree's Lua services
 * before the installed ones; an installed one never looks there. */
const char *wisp_exe_dir(void);
int wisp_in_build_tree(void);
/* Where cfg's node looks for modules ("dir/?.so;..."): the config's
 * module_path, else build/services/ beside the executable, then the
 * installed ones. */
void wisp_module_path(const struct wisp_config *cfg, char *out, size_t size);
/* Where it looks for Lua scripts and modules: the config's lua_path, then
 * the ones that ship (the source tree's first for build/wisp). */
void wisp_lua_path(const struct wisp_config *cfg, char *out, size_t size);
/* Makes the modules linked into the executable findable (boot's hook). */
void wisp_node_register_modules(void);
/* 1 while the node starts the services its config names: a Lua service
 * started then is part of the node, and its failing to start fails the
 * node. */
int wisp_node_starting(void);
/* The running node's config, or NULL outside a node (in unit tests). */
const struct wisp_config *wisp_node_config(void);

#endif
