/* builtin.c: what the services add to the runtime, registered once at
 * start: the config sections they own (gate, db, console), the modules
 * linked into the executable, and the services a node is made of before
 * those its config names, in order: the harbor, the gate, the db service,
 * the console. */
#include <stddef.h>
#include "builtin.h"
#include "console_config.h"
#include "db_config.h"
#include "gate_config.h"
#include "harbor_config.h"
#include "node.h"

static void register_modules(void)
{
	wisp_module_builtin(&wisp_logger_module);
	wisp_module_builtin(&wisp_lua_module);
	wisp_module_builtin(&wisp_harbor_module);
	wisp_module_builtin(&wisp_gate_module);
}

static int start_part(const char *what, const char *module, const char *args,
	int lasting)
{
	return wisp_node_start(what, module, args, lasting) ? 0 : -1;
}

/* A node with a harbor address links to the others before its services
 * start, so that they can reach the cluster from their first message. */
static int start_harbor(const struct wisp_config *cfg)
{
	const struct wisp_peer *self = wisp_config_peer_id(cfg, cfg->node_id);
	if (self == NULL || self->host == NULL)
		return 0;
	return start_part("the harbor", "harbor", "", 1);
}

/* A net node holds its clients from before its own services start, so
 * that none of their pushes finds the gate missing. */
static int start_gate(const struct wisp_config *cfg)
{
	if (!(cfg->roles & WISP_ROLE_NET))
		return 0;
	return start_part("the gate", "gate", "", 0);
}

/* A db node opens its database before its own services start, so that
 * their first queries find it. */
static int start_db(const struct wisp_config *cfg)
{
	if (!(cfg->roles & WISP_ROLE_DB))
		return 0;
	return start_part("the db service", "lua", "db.service", 0);
}

/* Every node runs the console, so that any node can be inspected, and
 * commands can be forwarded to it. It lasts like the harbor: it stays
 * to the end of a stop, and a node whose other services are all gone
 * still ends. */
static int start_console(const struct wisp_config *cfg)
{
	char *args = wisp_console_args(cfg);
	int rc = start_part("the console", "lua", args, 1);
	wisp_free(args);
	return rc;
}

static int start_node(const struct wisp_config *cfg)
{
	return start_harbor(cfg) < 0 || start_gate(cfg) < 0 || start_db(cfg) < 0
		|| start_console(cfg) < 0 ? -1 : 0;
}

static const struct wisp_node_boot boot = {
	.modules = register_modules,
	.logger = "logger",
	.start = start_node,
};

void wisp_builtin_register(void)
{
	wisp_config_register(&wisp_harbor_config);
	wisp_config_register(&wisp_gate_config);
	wisp_config_register(&wisp_db_config);
	wisp_config_register(&wisp_console_config);
	wisp_node_boot(&boot);
}
