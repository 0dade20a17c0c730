/* node.c: one node's life: set up every part of the runtime from the
 * config, start what the executable adds (its modules, the logger and the
 * node's own services: wisp_node_boot) and the configured services, run
 * the loop, then take everything down again. */
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
#include "trace.h"
#include "scheduler.h"
#include "service.h"
#include "signals.h"
#include "socket.h"

static const struct wisp_config *active;
static int starting; /* the node is starting the services it is made of */
static const struct wisp_node_boot *boot; /* NULL: the runtime alone */

void wisp_node_boot(const struct wisp_node_boot *b)
{
	boot = b;
}

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

const char *wisp_exe_dir(void)
{
	static char dir[PATH_MAX];
	if (dir[0] == '\0') {
		ssize_t n = readlink("/proc/self/exe", dir, sizeof(dir) - 1);
		dir[n > 0 ? n : 0] = '\0';
		char *slash = strrchr(dir, '/');
		if (slash)
			*slash = '\0';
	}
	return dir;
}

int wisp_in_build_tree(void)
{
	return strcmp(wisp_exe_dir(), WISP_BUILD_DIR) == 0;
}

void wisp_module_path(const struct wisp_config *cfg, char *out,
	size_t size)
{
	if (cfg->module_path) /* modules built beside the executable first */
		snprintf(out, size, "%s", cfg->module_path);
	else
		snprintf(out, size, "%s/services/?.so;%s/?.so", wisp_exe_dir(),
			WISP_MODULE_DIR);
}

void wisp_lua_path(const struct wisp_config *cfg, char *out, size_t size)
{
	const char *own = cfg && cfg->lua_path ? cfg->lua_path : NULL;
	int source = wisp_in_build_tree();
	snprintf(out, size, "%s%s%s%s%s", own ? own : "", own ? ";" : "",
		source ? WISP_LUA_PATH_SOURCE : "", source ? ";" : "",
		WISP_LUA_PATH_INSTALLED);
}

void wisp_node_register_modules(void)
{
	if (boot && boot->modules)
		boot->modules();
}

/* Without a logger module, lines go to stderr (log.h). */
static int start_logger(const struct wisp_config *cfg)
{
	char err[512];
	if (boot == NULL || boot->logger == NULL)
		return 0;
	wisp_handle h = wisp_service_start(boot->logger,
		cfg->log_file ? cfg->log_file : "", err, sizeof(err));
	if (h == 0) {
		fprintf(stderr, "wisp: %s\n", err);
		return -1;
	}
	wisp_log_attach(h);
	wisp_service_set_lasting(wisp_handle_grab(h));
	return 0;
}

wisp_handle wisp_node_start(const char *what, const char *module,
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

static int start_services(const struct wisp_config *cfg)
{
	char what[128];
	for (size_t i = 0; i < cfg->service_count; i++) {
		const struct wisp_service_spec *s = &cfg->services[i];
		snprintf(what, sizeof(what), "service %s", s->module);
		wisp_handle h = wisp_node_start(what, s->module, s->args, 0);
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
	wisp_trace_init(cfg->node_id, cfg->slow_call_ms);
	wisp_service_mailbox_defaults(cfg->mailbox_limit, cfg->mailbox_bytes);
	if (wisp_net_init(cfg->socket_write_limit, deliver_socket) < 0
		|| wisp_signals_init() < 0) {
		perror("wisp: cannot set up the event loop");
		return -1;
	}
	wisp_module_path(cfg, path, sizeof(path));
	wisp_modules_init(path);
	wisp_node_register_modules();
	return start_logger(cfg);
}

static void teardown(void)
{
	wisp_signals_exit();
	wisp_net_exit();
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
		if ((boot && boot->start && boot->start(cfg) < 0)
			|| start_services(cfg) < 0)
			wisp_scheduler_stop(1); /* the started ones stop in order */
		starting = 0;
		wisp_alloc_trim();
		code = wisp_scheduler_run();
	}
	teardown();
	return code;
}
