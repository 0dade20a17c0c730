/* builtin.h: the services linked into the wisp executable, and what it
 * registers with the runtime before anything else (builtin.c). */
#ifndef WISP_BUILTIN_H
#define WISP_BUILTIN_H

#include "module.h"

/* The modules linked into the executable. */
extern const struct wisp_module wisp_logger_module; /* logger.c */
extern const struct wisp_module wisp_lua_module;    /* lua/host.c */
extern const struct wisp_module wisp_harbor_module; /* harbor/service.c */
extern const struct wisp_module wisp_gate_module;   /* gate/service.c */

/* Registers the services' config sections and the node's boot: its
 * modules, its logger and the services every node is made of. Before any
 * config is read. */
void wisp_builtin_register(void);

#endif
