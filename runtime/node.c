/* node.c: one node's life: set up every part of the runtime from the
 * config, start the logger and the configured services, run the loop,
 * then take everything down again. */
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "alloc.h"
#include "handle.h"
#include "log.h"
#include "module.h"
#include "names.h"
#include "node.h"
#include "scheduler.h"
#include "service.h"
#include "signals.h"
#include "socket.h"

static const struct wisp_config *active;
static int starting; /* the node is starting the services it is made of */

int wisp_node_starting(void)
{
	return starting;
}

const char *wisp_getenv(const char *key)
{
	return active ? wisp_config_env(active, key) : NULL;
}

const struct wisp_config *wisp_node_config(void)
{
	return active;
}

const char *wisp_node_name(void)
{
	return active ? active->node : "?";
}

static void deliver_socket(wisp_handle owner, struct wisp_socket_msg *msg,
	size_t sz)
{
	wisp_deliver(0, owner, WISP_MSG_SOCKET, 0, msg, sz);
}

/* Modules built beside the executable first, then the installed ones. */
static void default_module_path(char *out, size_t outsz)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	exe[n > 0 ? n : 0] = '\0';
	char *slash = strrchr(exe, '/');
	if (slash)
		*slash = '\0';
	snprintf(out, outsz, "%s/services/?.so;%s/?.so", exe, WISP_MODULE_DIR);
}

static int start_logger(const struct wisp_config *cfg)
{
	char err[512];
	wisp_handle h = wisp_service_start("logger",
		cfg->log_file ? cfg->log_file : "", err, sizeof(err));
	if (h == 0) {
		fprintf(stderr, "wisp: %s\n", err);
		return -1;
	}
	wisp_log_attach(h);
	wisp_service_set_lasting(wisp_handle_grab(h));
	return 0;
}

/* Starts one of the services the node is made of, saying on stderr why
 * it could not: its handle, or 0. A lasting one stays to the end of a
 * stop. */
static wisp_handle start_service(const char *what, const char *module,
	const char *args, int lasting)
{
	char err[512];
	wisp_handle h = wisp_service_start(module, args, err, sizeof(err));
	if (h == 0) {
		fprintf(stderr, "wisp: cannot start %s: %s\n", what, err);
		return 0;
	}
	if (lasting)
		wisp_service_set_lasting(wisp_handle_grab(h));
	return h;
}

static int start_part(const char *what, const char *module, const char *args,
	int lasting)
{
	return start_service(what, module, args, lasting) ? 0 : -1;
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

/* Appends " key=HOST:PORT" when host is set. */
static size_t add_address(char *out, size_t size, size_t at, const char *key,
	const char *host, int port)
{
	if (host == NULL || at >= size)
		return at;
	return at + (size_t)snprintf(out + at, size - at, " %s=%s:%d", key, host,
		port);
}

/* The console's arguments: its addresses, and the token in hex, as
 * arguments are words and a token may hold blanks. */
static char *console_args(const struct wisp_console_settings *c)
{
	size_t size = 512 + (c->token ? 2 * strlen(c->token) : 0), at;
	char *args = wisp_malloc(size);
	at = (size_t)snprintf(args, size, "console.service");
	at = add_address(args, size, at, "console", c->host, c->port);
	at = add_address(args, size, at, "metrics", c->metrics_host,
		c->metrics_port);
	if (c->token && c->token[0] && at + 7 < size) {
		at += (size_t)snprintf(args + at, size - at, " token=");
		for (const char *t = c->token; *t && at + 2 < size; t++)
			at += (size_t)snprintf(args + at, size - at, "%02x",
				(unsigned char)*t);
	}
	return args;
}

/* Every node runs the console, so that any node can be inspected, and
 * commands can be forwarded to it. It lasts like the harbor: it stays
 * to the end of a stop, and a node whose other services are all gone
 * still ends. */
static int start_console(const struct wisp_config *cfg)
{
	char *args = console_args(&cfg->console);
	int rc = start_part("the console", "lua", args, 1);
	wisp_free(args);
	return rc;
}

static int start_services(const struct wisp_config *cfg)
{
	char what[128];
	for (size_t i = 0; i < cfg->service_count; i++) {
		const struct wisp_service_spec *s = &cfg->services[i];
		snprintf(what, sizeof(what), "service %s", s->module);
		wisp_handle h = start_service(what, s->module, s->args, 0);
		if (h == 0)
			return -1;
		struct wisp_context *ctx = wisp_handle_grab(h);
		if (ctx && s->mailbox_limit)
			ctx->mailbox_max = s->mailbox_limit;
		if (ctx && s->mailbox_bytes)
			ctx->mailbox_bytes_max = s->mailbox_bytes;
	}
	return 0;
}

static int setup(const struct wisp_config *cfg)
{
	char path[2 * PATH_MAX];
	active = cfg;
	wisp_log_init(cfg->node, cfg->log_level);
	wisp_log_set_rate(cfg->log_rate);
	wisp_handles_init(cfg->node_id);
	wisp_scheduler_init(cfg->stop_timeout_ms);
	wisp_scheduler_warn(cfg->handler_warn_ms);
	wisp_service_mailbox_defaults(cfg->mailbox_limit, cfg->mailbox_bytes);
	if (wisp_sockets_init(cfg->socket_write_limit, deliver_socket) < 0
		|| wisp_signals_init() < 0) {
		perror("wisp: cannot set up the event loop");
		return -1;
	}
	if (cfg->module_path == NULL)
		default_module_path(path, sizeof(path));
	wisp_modules_init(cfg->module_path ? cfg->module_path : path);
	wisp_module_builtin(&wisp_logger_module);
	wisp_module_builtin(&wisp_lua_module);
	wisp_module_builtin(&wisp_harbor_module);
	wisp_module_builtin(&wisp_gate_module);
	return start_logger(cfg);
}

static void teardown(void)
{
	wisp_signals_exit();
	wisp_sockets_exit();
	wisp_scheduler_exit();
	wisp_names_exit();
	wisp_handles_exit();
	wisp_modules_exit();
	active = NULL;
}

int wisp_node_run(const struct wisp_config *cfg)
{
	int code = 1;
	if (setup(cfg) == 0) {
		wisp_log(NULL, WISP_LOG_INFO, "node %s (id %u) starting; "
			"allocator: %s", cfg->node, cfg->node_id, wisp_allocator());
		starting = 1;
		if (start_harbor(cfg) < 0 || start_gate(cfg) < 0
			|| start_db(cfg) < 0 || start_console(cfg) < 0
			|| start_services(cfg) < 0)
			wisp_scheduler_stop(1); /* the started ones stop in order */
		starting = 0;
		code = wisp_scheduler_run();
	}
	teardown();
	return code;
}
