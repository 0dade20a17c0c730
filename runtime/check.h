/* check.h: `wisp --check CONFIG`, the whole cluster at once (check.c).
 * Reading the config as each node already finds what one node's table
 * can show (keys, types, secrets); this finds what only the cluster
 * shows: a script or module no path holds, a route or an events service
 * naming a node the config lacks or a service no script of that node
 * registers, two listeners on one port of one host. Every mistake is
 * told, not just the first. Sections take part through their check hook
 * (config_reader.h), saying where they listen and what they name. */
#ifndef WISP_CHECK_H
#define WISP_CHECK_H

#include <stddef.h>

struct wisp_config;
struct wisp_check;

struct wisp_check *wisp_check_new(void);
/* The node's own checks, then every section's; cfg is node's config. */
void wisp_check_node(struct wisp_check *c, const char *node,
	const struct wisp_config *cfg);
/* The checks across nodes (when whole: every node was read), then frees
 * c: the number of mistakes, each told on stderr as it was found ("wisp:
 * node NAME: ..."). */
size_t wisp_check_finish(struct wisp_check *c, int whole);

/* For sections' check hooks. A mistake of the node being checked. */
void wisp_check_fail(struct wisp_check *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* The node listens on host:port for what ("gate.listen"). */
void wisp_check_listen(struct wisp_check *c, const char *what,
	const char *host, int port);
/* A service by name for what ("gate.commands[2]"): "name" or
 * "name@node". The node must be in the config, and one of the services
 * it runs (or, without a node, of any node) must be able to register the
 * name: a C module of that name, or a script whose text holds it quoted,
 * as wisp.register("name") does. */
void wisp_check_service(struct wisp_check *c, const struct wisp_config *cfg,
	const char *what, const char *target);

#endif
