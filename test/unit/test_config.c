/* test_config.c: a good config is read as written; each kind of bad one
 * is refused with a message naming the file, the key and the place. The
 * whole config as users write it: the runtime's keys and the sections the
 * services register (gate, db, console). */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include "builtin.h"
#include "config.h"
#include "config_secret.h"
#include "console_config.h"
#include "db_config.h"
#include "gate_config.h"
#include "harbor_config.h"
#include "log.h"
#include "testlib.h"

static char path[64];

/* The services' sections of cfg, as the services read them. */
static const struct wisp_gate_settings *gate(const struct wisp_config *cfg)
{
	return wisp_gate_settings(cfg);
}

static const struct wisp_db_settings *db(const struct wisp_config *cfg)
{
	return wisp_db_settings(cfg);
}

static const struct wisp_console_settings *console(
	const struct wisp_config *cfg)
{
	return wisp_console_settings(cfg);
}

static void write_config(const char *text)
{
	FILE *f = fopen(path, "w");
	fputs(text, f);
	fclose(f);
}

/* Loads text as the config for node "a"; returns the error, or NULL. */
static const char *load(const char *text, struct wisp_config *cfg)
{
	static char err[512];
	write_config(text);
	return wisp_config_load(path, "a", cfg, err, sizeof(err)) == 0 ? NULL : err;
}

static void good_config(void)
{
	struct wisp_config cfg;
	const char *err = load(
		"return { cluster = 'c', log_level = 'warn', stop_timeout = 250,\n"
		"  env = { motd = 'hi', port = 9000, debug = true },\n"
		"  nodes = {\n"
		"    a = { id = 12, roles = { 'net', 'db' }, log_file = 'a.log',\n"
		"          env = { motd = 'node a' },\n"
		"          gate = { listen = '127.0.0.1:7100' },\n"
		"          services = { 'echo 127.0.0.1:1', { 'echo', 'x y',\n"
		"            mailbox_limit = 50, mailbox_bytes = 4096 }, 'bare' } },\n"
		"    b = { id = 13 },\n"
		"  } }\n", &cfg);
	CHECK(err == NULL);
	if (err) {
		fprintf(stderr, "%s\n", err);
		return;
	}
	CHECK_STR(cfg.node, "a");
	CHECK_INT(cfg.node_id, 12);
	CHECK_INT(cfg.roles, WISP_ROLE_NET | WISP_ROLE_DB);
	CHECK_INT(cfg.log_level, WISP_LOG_WARN);
	CHECK_STR(cfg.log_file, "a.log");
	CHECK_INT(cfg.stop_timeout_ms, 250);
	CHECK_INT(cfg.socket_write_limit, 4 << 20);
	CHECK_INT(cfg.service_count, 3);
	CHECK_STR(cfg.services[0].module, "echo");
	CHECK_STR(cfg.services[0].args, "127.0.0.1:1");
	CHECK_STR(cfg.services[1].args, "x y");
	CHECK_INT(cfg.services[1].mailbox_limit, 50);
	CHECK_INT(cfg.services[1].mailbox_bytes, 4096);
	CHECK_INT(cfg.services[0].mailbox_limit, 0);
	CHECK_INT(cfg.mailbox_limit, WISP_MAILBOX_MESSAGES);
	CHECK_INT(cfg.mailbox_bytes, WISP_MAILBOX_BYTES);
	CHECK_STR(cfg.services[2].module, "bare");
	CHECK_STR(cfg.services[2].args, "");
	CHECK_STR(wisp_config_env(&cfg, "motd"), "node a");
	CHECK_STR(wisp_config_env(&cfg, "port"), "9000");
	CHECK_STR(wisp_config_env(&cfg, "debug"), "true");
	CHECK(wisp_config_env(&cfg, "nosuch") == NULL);
	wisp_config_free(&cfg);
}

/* A secret the rules accept, new each run: no test holds a fixed one
 * (test/check_secrets.py looks). */
static const char *new_secret(void)
{
	static char secret[WISP_SECRET_NEW_LEN + 1];
	if (secret[0] == '\0' && wisp_secret_new(secret) < 0) {
		perror("wisp_secret_new");
		exit(1);
	}
	return secret;
}

static void cluster_config(void)
{
	struct wisp_config cfg;
	char text[512];
	snprintf(text, sizeof(text),
		"return { secret = '%s', harbor = { heartbeat = 200, timeout = 900 },\n"
		"  nodes = {\n"
		"    r2 = { id = 9, roles = { 'root' }, harbor = '127.0.0.1:7009' },\n"
		"    a = { id = 2, harbor = '[::1]:7002', harbor_listen = '[::1]:7102' },\n"
		"    r1 = { id = 1, roles = { 'root', 'db' }, harbor = 'localhost:7001' },\n"
		"    c = { id = 3 },\n"
		"  } }\n", new_secret());
	const char *err = load(text, &cfg);
	CHECK(err == NULL);
	if (err) {
		fprintf(stderr, "%s\n", err);
		return;
	}
	CHECK_INT(cfg.peer_count, 4);
	const struct wisp_peer *a = wisp_config_peer(&cfg, "a");
	CHECK(a != NULL && a->id == 2 && a->port == 7002);
	CHECK_STR(a ? a->host : NULL, "::1");
	CHECK_STR(a ? wisp_peer_listen_host(a) : NULL, "::1");
	CHECK_INT(a ? wisp_peer_listen_port(a) : 0, 7102);
	const struct wisp_peer *r2 = wisp_config_peer(&cfg, "r2");
	CHECK_INT(wisp_peer_listen_port(r2), 7009); /* none: where it is dialed */
	CHECK(wisp_config_peer(&cfg, "c")->host == NULL);
	CHECK_STR(wisp_config_peer_id(&cfg, 1)->name, "r1");
	CHECK_INT(wisp_config_peer_id(&cfg, 1)->roles, WISP_ROLE_ROOT | WISP_ROLE_DB);
	CHECK(wisp_config_peer_id(&cfg, 4) == NULL);
	CHECK_INT(cfg.root_count, 2); /* root-role nodes in id order */
	CHECK_INT(cfg.roots[0], 1);
	CHECK_INT(cfg.roots[1], 9);
	CHECK_STR(cfg.secret, new_secret());
	const struct wisp_harbor_settings *h = wisp_harbor_settings(&cfg);
	CHECK_INT(h->heartbeat_ms, 200);
	CHECK_INT(h->timeout_ms, 900);
	CHECK_INT(h->max_frame, 64 << 20);
	CHECK_INT(h->same_host, 1);
	wisp_config_free(&cfg);
	snprintf(text, sizeof(text), "return { secret = '%s', roots = { 'c', 'a' },"
		" nodes = {\n  a = { id = 2, harbor = '127.0.0.1:1' }, c = { id = 3 } } }",
		new_secret());
	CHECK(load(text, &cfg) == NULL);
	CHECK_INT(cfg.root_count, 2);
	CHECK_INT(cfg.roots[0], 3);
	wisp_config_free(&cfg);
}

/* The gate settings that a config naming none of them gets. */
static void check_gate_defaults(const struct wisp_gate_settings *g)
{
	CHECK(memcmp(g->magic, "WISP", 4) == 0);
	CHECK_INT(g->proto_version, 1);
	CHECK_INT(g->server_version, 1);
	CHECK_INT(g->max_body, 65536);
	CHECK_INT(g->max_connections, 10000);
	CHECK_INT(g->output_limit, 262144);
	CHECK_INT(g->idle_timeout_ms, 120000);
	CHECK_INT(g->rate_limit, 0);
	CHECK_INT(g->rate_burst, 0);
	CHECK_INT(g->max_inflight, 16);
	CHECK_INT(g->reply_timeout_ms, 30000);
	CHECK_INT(g->frame_timeout_ms, 10000);
	CHECK_INT(g->first_frame_timeout_ms, 10000);
	CHECK_INT(g->max_per_address, 256);
	CHECK_INT(g->partial_budget, 64 << 20);
	CHECK(g->events == NULL);
	CHECK_INT(g->route_count, 0);
	CHECK(wisp_gate_settings_route(g, 1) == NULL);
}

static void defaults(void)
{
	struct wisp_config cfg;
	CHECK(load("return { nodes = { a = { id = 1 } } }", &cfg) == NULL);
	CHECK_INT(cfg.roles, WISP_ROLE_NODE);
	CHECK_INT(cfg.log_level, WISP_LOG_INFO);
	CHECK(cfg.log_file == NULL);
	CHECK(cfg.module_path == NULL);
	CHECK_INT(cfg.service_count, 0);
	CHECK_INT(cfg.stop_timeout_ms, 5000);
	CHECK(gate(&cfg)->host == NULL);
	CHECK_INT(gate(&cfg)->port, 0);
	check_gate_defaults(gate(&cfg));
	wisp_config_free(&cfg);
	/* a net node that gives only its listen address */
	CHECK(load("return { nodes = { a = { id = 1, roles = { 'net' },\n"
		"  gate = { listen = '[::1]:7100' } } } }", &cfg) == NULL);
	CHECK_STR(gate(&cfg)->host, "::1");
	CHECK_INT(gate(&cfg)->port, 7100);
	check_gate_defaults(gate(&cfg));
	wisp_config_free(&cfg);
}

/* The service command id goes to, or NULL. */
static const char *route_of(const struct wisp_gate_settings *g, uint32_t id)
{
	const struct wisp_command_route *route = wisp_gate_settings_route(g, id);
	return route ? route->service : NULL;
}

/* The top-level gate, then the node's own over it key by key. */
static void gate_override(void)
{
	struct wisp_config cfg;
	const char *err = load(
		"return { gate = { listen = '0.0.0.0:7100', magic = 'ABCD',\n"
		"    version = 7, server_version = 4294967295, max_body = 1024,\n"
		"    rate_limit = 50, events = 'lobby',\n"
		"    commands = { { 1, 'login' }, { 2, 9, 'lobby' } } },\n"
		"  nodes = {\n"
		"    a = { id = 1, roles = { 'net', 'node' }, gate = {\n"
		"      listen = 'localhost:7200', max_body = 4294967291,\n"
		"      max_connections = 5, output_limit = 1024, idle_timeout = 0,\n"
		"      rate_burst = 100, frame_timeout = 0, first_frame_timeout = 7,\n"
		"      max_per_address = 0, partial_budget = 1024,\n"
		"      commands = { { 5, 'room@game1' } } } },\n"
		"    b = { id = 2 },\n"
		"  } }\n", &cfg);
	CHECK(err == NULL);
	if (err) {
		fprintf(stderr, "%s\n", err);
		return;
	}
	const struct wisp_gate_settings *g = gate(&cfg);
	CHECK_STR(g->host, "localhost");
	CHECK_INT(g->port, 7200);
	CHECK(memcmp(g->magic, "ABCD", 4) == 0);
	CHECK_INT(g->proto_version, 7);
	CHECK(g->server_version == UINT32_MAX);
	CHECK(g->max_body == UINT32_MAX - 4);
	CHECK_INT(g->max_connections, 5);
	CHECK_INT(g->output_limit, 1024);
	CHECK_INT(g->idle_timeout_ms, 0);
	CHECK_INT(g->rate_limit, 50);
	CHECK_INT(g->rate_burst, 100);
	CHECK_INT(g->frame_timeout_ms, 0);
	CHECK_INT(g->first_frame_timeout_ms, 7);
	CHECK_INT(g->max_per_address, 0);
	CHECK_INT(g->partial_budget, 1024);
	CHECK_STR(g->events, "lobby");
	CHECK_INT(g->route_count, 1); /* the node's list replaces the top's */
	CHECK_STR(route_of(g, 5), "room@game1");
	CHECK(wisp_gate_settings_route(g, 1) == NULL);
	wisp_config_free(&cfg);
	/* a node without the net role keeps the top-level gate, unchecked */
	CHECK(load("return { gate = { max_body = 10 },\n"
		"  nodes = { a = { id = 1 } } }", &cfg) == NULL);
	CHECK_INT(gate(&cfg)->max_body, 10);
	CHECK(gate(&cfg)->host == NULL);
	wisp_config_free(&cfg);
}

/* Single ids and ranges, given out of order, are found by id. */
static void gate_routes(void)
{
	struct wisp_config cfg;
	const char *err = load(
		"return { gate = { commands = {\n"
		"    { 300, 4294967295, 'tail' }, { 0, 'zero' },\n"
		"    { 100, 199, 'room@game1' }, { 1, 'login' }, { 200, 'one' } } },\n"
		"  nodes = { a = { id = 1, roles = { 'net' },\n"
		"    gate = { listen = '127.0.0.1:7100', error_command = 2 } } } }\n",
		&cfg);
	CHECK(err == NULL);
	if (err) {
		fprintf(stderr, "%s\n", err);
		return;
	}
	const struct wisp_gate_settings *g = gate(&cfg);
	CHECK_INT(g->route_count, 5);
	for (size_t i = 1; i < g->route_count; i++)
		CHECK(g->routes[i - 1].last < g->routes[i].first);
	CHECK_STR(route_of(g, 0), "zero");
	CHECK_STR(route_of(g, 1), "login");
	CHECK(wisp_gate_settings_route(g, 2) == NULL);
	CHECK(wisp_gate_settings_route(g, 99) == NULL);
	CHECK_STR(route_of(g, 100), "room@game1");
	CHECK_STR(route_of(g, 150), "room@game1");
	CHECK_STR(route_of(g, 199), "room@game1");
	CHECK_STR(route_of(g, 200), "one");
	CHECK(wisp_gate_settings_route(g, 201) == NULL);
	CHECK(wisp_gate_settings_route(g, 299) == NULL);
	CHECK_STR(route_of(g, 300), "tail");
	CHECK_STR(route_of(g, UINT32_MAX), "tail");
	wisp_config_free(&cfg);
}

/* The client contract's keys: error frames on under 4294967295 unless
 * turned off, request ids off, routes ordered unless they say not. */
static void gate_contract(void)
{
	struct wisp_config cfg;
	const char *net = "nodes = { a = { id = 1, roles = { 'net' },\n"
		"  gate = { listen = '127.0.0.1:7100' } } } }";
	char text[512];
	snprintf(text, sizeof(text), "return { gate = { commands = {\n"
		"  { 1, 'a' }, { 2, 9, 'b', ordered = false }, { 10, 'c', ordered = "
		"true } } },\n  %s", net);
	CHECK(load(text, &cfg) == NULL);
	CHECK_INT(gate(&cfg)->error_frames, 1);
	CHECK(gate(&cfg)->error_command == UINT32_MAX);
	CHECK_INT(gate(&cfg)->request_ids, 0);
	CHECK_INT(wisp_gate_settings_route(gate(&cfg), 1)->ordered, 1);
	CHECK_INT(wisp_gate_settings_route(gate(&cfg), 5)->ordered, 0);
	CHECK_INT(wisp_gate_settings_route(gate(&cfg), 10)->ordered, 1);
	wisp_config_free(&cfg);
	snprintf(text, sizeof(text), "return { gate = { error_command = 0,\n"
		"  request_ids = true }, %s", net);
	CHECK(load(text, &cfg) == NULL);
	CHECK_INT(gate(&cfg)->error_frames, 1);
	CHECK_INT(gate(&cfg)->error_command, 0);
	CHECK_INT(gate(&cfg)->request_ids, 1);
	wisp_config_free(&cfg);
	snprintf(text, sizeof(text), "return { gate = { error_command = false }, "
		"%s", net);
	CHECK(load(text, &cfg) == NULL);
	CHECK_INT(gate(&cfg)->error_frames, 0);
	wisp_config_free(&cfg);
}

/* Each bad config must be refused with a message containing want. */
static void refused(const char *text, const char *want)
{
	struct wisp_config cfg;
	const char *err = load(text, &cfg);
	CHECK(err != NULL);
	if (err == NULL) {
		fprintf(stderr, "accepted: %s\n", text);
		wisp_config_free(&cfg);
	}
	if (err && strstr(err, want) == NULL) {
		fprintf(stderr, "error \"%s\" lacks \"%s\"\n", err, want);
		test_failures++;
	}
	if (err)
		CHECK(strncmp(err, path, strlen(path)) == 0);
}

/* watchdog and handler_warn: 30 s and 1 s by default, 0 turns either
 * off, and a watchdog that would kill healthy nodes is refused. */
static void watchdog_settings(void)
{
	struct wisp_config cfg;
	CHECK(load("return { nodes = { a = { id = 1 } } }", &cfg) == NULL);
	CHECK_INT(cfg.watchdog_ms, 30000);
	CHECK_INT(cfg.handler_warn_ms, 1000);
	wisp_config_free(&cfg);
	CHECK(load("return { watchdog = 0, handler_warn = 250,\n"
		"  nodes = { a = { id = 1 } } }", &cfg) == NULL);
	CHECK_INT(cfg.watchdog_ms, 0);
	CHECK_INT(cfg.handler_warn_ms, 250);
	wisp_config_free(&cfg);
	refused("return { watchdog = 50, nodes = { a = { id = 1 } } }",
		"key 'watchdog' in the config must be 0 (off) or at least 100");
	refused("return { handler_warn = -1, nodes = { a = { id = 1 } } }",
		"key 'handler_warn' in the config must be an integer from 0");
}

static void bad_configs(void)
{
	refused("return { nodes = { a = { id = 1 } }", ":1:");
	refused("return 5", "must return a table");
	refused("return { nodes = { a = { id = 1 } }, colour = 1 }",
		"unknown key 'colour' in the config");
	refused("return { nodes = { a = { id = 1, colour = 1 } } }",
		"unknown key 'colour' in nodes.a");
	/* a typo is named with the key it would be, the services' too */
	refused("return { nodes = { a = { id = 1, servics = {} } } }",
		"unknown key 'servics' in nodes.a (did you mean 'services'?)");
	refused("return { nodes = { a = { id = 1, consle = 'x' } } }",
		"unknown key 'consle' in nodes.a (did you mean 'console'?)");
	refused("return { console_tokn = 'x', nodes = { a = { id = 1 } } }",
		"unknown key 'console_tokn' in the config (did you mean "
		"'console_token'?)");
	refused("return { nodes = { a = { roles = {} } } }",
		"missing required key 'id' in nodes.a");
	refused("return { }", "missing required key 'nodes'");
	refused("return { nodes = 5 }", "key 'nodes' in the config must be a table");
	refused("return { nodes = { a = { id = 0 } } }",
		"key 'id' in nodes.a must be an integer from 1 to 1023");
	refused("return { nodes = { a = { id = 'x' } } }",
		"key 'id' in nodes.a must be an integer");
	refused("return { nodes = { b = { id = 1 } } }", "no node named 'a'");
	refused("return { nodes = { a = { id = 1, roles = { 'gate' } } } }",
		"unknown role 'gate' in nodes.a");
	refused("return { log_level = 'loud', nodes = { a = { id = 1 } } }",
		"key 'log_level' in the config must be one of");
	refused("return { nodes = { a = { id = 1, services = { {} } } } }",
		"a service in nodes.a must be");
	refused("return { env = { [1] = 'x' }, nodes = { a = { id = 1 } } }",
		"env in the config takes string keys");
	refused("error('boom')", "boom");
	refused("return { nodes = { a = { id = 1 }, b = { id = 1 } } }",
		"have the same id 1");
	refused("return { nodes = { a = { id = 1, harbor = '127.0.0.1' } } }",
		"key 'harbor' in nodes.a must be \"host:port\"");
	refused("return { secret = 'x', nodes = { a = { id = 1, harbor = 'h:99999' } } }",
		"must be \"host:port\"");
	refused("return { secret = 'x', nodes = { a = { id = 1, harbor = "
		"'127.0.0.1:7001x' } } }", "must be \"host:port\"");
	refused("return { nodes = { a = { id = 1, harbor = '127.0.0.1:7001' } } }",
		"missing required key 'secret'");
	refused("return { nodes = { a = { id = 1, harbor_listen = '127.0.0.1:1' } } }",
		"key 'harbor_listen' in nodes.a needs 'harbor'");
	refused("return { secret = 'x', nodes = { a = { id = 1, harbor = "
		"'127.0.0.1:1', harbor_listen = 'h' } } }",
		"key 'harbor_listen' in nodes.a must be \"host:port\"");
	refused("return { roots = { 'z' }, nodes = { a = { id = 1 } } }",
		"roots names 'z', which is not in nodes");
	refused("return { harbor = { beat = 1 }, nodes = { a = { id = 1 } } }",
		"unknown key 'beat' in harbor");
	refused("return { harbor = { timeout = 1 }, nodes = { a = { id = 1 } } }",
		"key 'timeout' in harbor must be an integer from 20");
	refused("return { nodes = { ['a b'] = { id = 2 }, a = { id = 1 } } }",
		"'a b' is not a valid node name");
	refused("return { nodes = { a = { id = 1 }, b = 5 } }", "nodes.b must be a table");
	refused("return { mailbox_limit = 0, nodes = { a = { id = 1 } } }",
		"key 'mailbox_limit' in the config must be an integer from 1");
	refused("return { mailbox_bytes = -5, nodes = { a = { id = 1 } } }",
		"key 'mailbox_bytes' in the config must be an integer from 1");
	refused("return { nodes = { a = { id = 1, services = { { 'echo', "
		"mailbox = 5 } } } } }", "unknown key 'mailbox' in a service of "
		"nodes.a");
	refused("return { nodes = { a = { id = 1, services = { { 'echo', "
		"mailbox_limit = 0 } } } } }", "key 'mailbox_limit' in nodes.a must "
		"be an integer from 1");
}

/* A net node a with the given gate keys, for the refused cases. */
static void refused_gate(const char *keys, const char *want)
{
	char text[512];
	snprintf(text, sizeof(text), "return { nodes = { a = { id = 1, "
		"roles = { 'net' }, gate = { listen = '127.0.0.1:7100', %s } } } }",
		keys);
	refused(text, want);
}

static void bad_gates(void)
{
	refused("return { gate = 5, nodes = { a = { id = 1 } } }",
		"key 'gate' in the config must be a table");
	refused("return { gate = { colour = 1 }, nodes = { a = { id = 1 } } }",
		"unknown key 'colour' in gate");
	refused_gate("colour = 1", "unknown key 'colour' in nodes.a.gate");
	refused_gate("max_inflght = 1", "unknown key 'max_inflght' in "
		"nodes.a.gate (did you mean 'max_inflight'?)");
	/* another node's gate table is checked too */
	refused("return { nodes = { a = { id = 1 }, b = { id = 2,\n"
		"  roles = { 'net' }, gate = { max_body = 0 } } } }",
		"key 'max_body' in nodes.b.gate must be an integer from 1");
	refused("return { nodes = { a = { id = 1, roles = { 'net' },\n"
		"  gate = { listen = '127.0.0.1' } } } }",
		"key 'listen' in nodes.a.gate must be \"host:port\"");
	refused("return { gate = { listen = '127.0.0.1:0' },\n"
		"  nodes = { a = { id = 1 } } }", "key 'listen' in gate must be");
	refused("return { gate = { listen = ':7100' }, nodes = { a = { id = 1 } } }",
		"key 'listen' in gate must be");
	refused("return { gate = { listen = 'h:70000' }, nodes = { a = { id = 1 } } }",
		"key 'listen' in gate must be");
	refused_gate("magic = 'ABC'", "key 'magic' in nodes.a.gate must be a "
		"string of exactly 4 bytes");
	refused_gate("magic = 1234", "key 'magic' in nodes.a.gate must be a "
		"string of exactly 4 bytes");
	refused_gate("version = 300",
		"key 'version' in nodes.a.gate must be an integer from 0 to 255");
	refused_gate("max_body = 0",
		"key 'max_body' in nodes.a.gate must be an integer from 1");
	refused_gate("max_body = 4294967292", "key 'max_body' in nodes.a.gate");
	refused_gate("max_connections = 0", "key 'max_connections' in nodes.a.gate");
	refused_gate("output_limit = 1023", "key 'output_limit' in nodes.a.gate");
	refused_gate("idle_timeout = -1", "key 'idle_timeout' in nodes.a.gate");
	refused_gate("rate_limit = 1000001", "key 'rate_limit' in nodes.a.gate");
	refused_gate("rate_burst = 'x'", "key 'rate_burst' in nodes.a.gate");
	refused_gate("max_inflight = 0", "key 'max_inflight' in nodes.a.gate");
	refused_gate("reply_timeout = 0", "key 'reply_timeout' in nodes.a.gate");
	refused_gate("frame_timeout = -1", "key 'frame_timeout' in nodes.a.gate");
	refused_gate("first_frame_timeout = 86400001",
		"key 'first_frame_timeout' in nodes.a.gate");
	refused_gate("max_per_address = 1.5",
		"key 'max_per_address' in nodes.a.gate");
	refused_gate("partial_budget = -1",
		"key 'partial_budget' in nodes.a.gate");
	refused_gate("events = {}", "key 'events' in nodes.a.gate must be a string");
	refused_gate("commands = 5", "key 'commands' in nodes.a.gate must be a list");
	refused("return { gate = { commands = {\n"
		"    { 100, 160, 'lobby' }, { 150, 199, 'room@game1' } } },\n"
		"  nodes = { a = { id = 1 } } }",
		"gate.commands: 150..199 (room@game1) overlaps 100..160 (lobby)");
	refused_gate("commands = { { 7, 'b' }, { 1, 10, 'a' } }",
		"nodes.a.gate.commands: 7 (b) overlaps 1..10 (a)");
	refused_gate("commands = { { 5, 'a' }, { 5, 'b' } }",
		"nodes.a.gate.commands: 5 (");
	refused_gate("commands = { { 9, 3, 'a' } }",
		"nodes.a.gate.commands[1]: first 9 is above last 3");
	refused_gate("commands = { { 1, 'a' }, 'login' }",
		"nodes.a.gate.commands[2] must be { ID, \"service\" }");
	refused_gate("commands = { { 1, 2, 3, 'a' } }",
		"nodes.a.gate.commands[1] must be { ID");
	refused_gate("commands = { { 1, 5 } }",
		"nodes.a.gate.commands[1]: the service must be a non-empty string");
	refused_gate("commands = { { 1, 2, {} } }",
		"nodes.a.gate.commands[1]: the service must be a non-empty string");
	refused_gate("commands = { { 1, '' } }",
		"nodes.a.gate.commands[1]: the service must be a non-empty string");
	refused_gate("commands = { { -1, 'a' } }",
		"nodes.a.gate.commands[1]: a command id must be an integer");
	refused_gate("commands = { { 4294967296, 'a' } }",
		"nodes.a.gate.commands[1]: a command id must be an integer");
	refused_gate("commands = { { '1', 'a' } }",
		"nodes.a.gate.commands[1]: a command id must be an integer");
	refused_gate("commands = { { 1, 'a', ordered = 0 } }",
		"nodes.a.gate.commands[1]: 'ordered' must be true or false");
	refused_gate("error_command = true",
		"key 'error_command' in nodes.a.gate must be a command id, or false");
	refused_gate("error_command = -1",
		"key 'error_command' in nodes.a.gate must be an integer");
	refused_gate("request_ids = 1",
		"key 'request_ids' in nodes.a.gate must be a boolean");
	refused_gate("error_command = 7, commands = { { 1, 9, 'a' } }",
		"nodes.a: gate.error_command 7 is routed by gate.commands too");
	refused("return { nodes = { a = { id = 1, roles = { 'net' } } } }",
		"nodes.a has the net role but no gate.listen");
	refused("return { nodes = { a = { id = 1, roles = { 'net' },\n"
		"  gate = { max_body = 10 } } } }",
		"nodes.a has the net role but no gate.listen");
	refused("return { nodes = { a = { id = 1, roles = { 'node' },\n"
		"  gate = { listen = '127.0.0.1:7100' } } } }",
		"nodes.a has a gate table but not the net role");
	refused("return { nodes = { a = { id = 1, roles = { 'net' }, gate = 5 } } }",
		"key 'gate' in nodes.a must be a table");
}

/* The db settings that a config naming none of them gets. */
static void check_db_defaults(const struct wisp_db_settings *d)
{
	CHECK_STR(d->file, "wisp.db");
	CHECK(d->migrations == NULL);
	CHECK_INT(d->synchronous, 1);
	CHECK_INT(d->cache_size, 64 << 20);
	CHECK_INT(d->batch_max, 1000);
	CHECK_INT(d->memcached_count, 0);
	CHECK_STR(d->prefix, "wisp");
	CHECK_INT(d->ttl_s, 3600);
	CHECK_INT(d->compress, 1024);
	CHECK_INT(d->timeout_ms, 200);
	CHECK_INT(d->static_count, 0);
}

static void db_defaults(void)
{
	struct wisp_config cfg;
	CHECK(load("return { nodes = { a = { id = 1, roles = { 'db' } } } }",
		&cfg) == NULL);
	check_db_defaults(db(&cfg));
	wisp_config_free(&cfg);
	/* an empty db table and an empty memcached one change nothing */
	CHECK(load("return { db = { memcached = {}, static = {} },\n"
		"  nodes = { a = { id = 1 } } }", &cfg) == NULL);
	check_db_defaults(db(&cfg));
	wisp_config_free(&cfg);
	wisp_config_defaults(&cfg, "a");
	check_db_defaults(db(&cfg));
	wisp_config_free(&cfg);
}

static void db_settings(void)
{
	struct wisp_config cfg;
	const char *err = load(
		"return { db = {\n"
		"    file = 'data/demo.db', migrations = 'services/demo/migrations',\n"
		"    synchronous = 'full', cache_size = 0, batch = 100000,\n"
		"    memcached = { servers = { '127.0.0.1:11211', '[::1]:1',\n"
		"        'cache.example:65535' },\n"
		"      prefix = 'demo', ttl = 2592000, compress = 0, timeout = 10000 },\n"
		"    static = { 'item', '_Level2' } },\n"
		"  nodes = { a = { id = 1, roles = { 'db' } } } }\n", &cfg);
	CHECK(err == NULL);
	if (err) {
		fprintf(stderr, "%s\n", err);
		return;
	}
	const struct wisp_db_settings *d = db(&cfg);
	CHECK_STR(d->file, "data/demo.db"); /* relative paths stay as written */
	CHECK_STR(d->migrations, "services/demo/migrations");
	CHECK_INT(d->synchronous, 2);
	CHECK_INT(d->cache_size, 0);
	CHECK_INT(d->batch_max, 100000);
	CHECK_INT(d->memcached_count, 3);
	CHECK_STR(d->memcached[0], "127.0.0.1:11211");
	CHECK_STR(d->memcached[1], "[::1]:1");
	CHECK_STR(d->memcached[2], "cache.example:65535");
	CHECK_STR(d->prefix, "demo");
	CHECK_INT(d->ttl_s, 2592000);
	CHECK_INT(d->compress, 0);
	CHECK_INT(d->timeout_ms, 10000);
	CHECK_INT(d->static_count, 2);
	CHECK_STR(d->static_tables[0], "item");
	CHECK_STR(d->static_tables[1], "_Level2");
	wisp_config_free(&cfg);
	CHECK(load("return { db = { synchronous = 'off', cache_size = 1099511627776,\n"
		"  file = '/var/lib/wisp/x.db' }, nodes = { a = { id = 1 } } }",
		&cfg) == NULL);
	CHECK_INT(db(&cfg)->synchronous, 0);
	CHECK(db(&cfg)->cache_size == (size_t)1 << 40);
	CHECK_STR(db(&cfg)->file, "/var/lib/wisp/x.db");
	CHECK(db(&cfg)->postgres == NULL);
	wisp_config_free(&cfg);
	CHECK(load("return { db = { postgres = { conninfo = 'dbname=game' } },\n"
		"  nodes = { a = { id = 1 } } }", &cfg) == NULL);
	CHECK_STR(db(&cfg)->postgres, "dbname=game");
	wisp_config_free(&cfg);
}

/* Several db nodes: who owns which table, and node a's own file. */
static void db_owners(void)
{
	struct wisp_config cfg;
	const char *err = load("return { db = { file = 'main.db' }, nodes = {\n"
		"  a = { id = 1, roles = { 'db' }, db = { file = 'a.db',\n"
		"    tables = { 'score', 'guild' } } },\n"
		"  b = { id = 2, roles = { 'db', 'node' } },\n"
		"  c = { id = 3, roles = { 'db' }, db = { tables = { 'mail' } } },\n"
		"  g = { id = 4 } } }", &cfg);
	CHECK(err == NULL);
	if (err) {
		fprintf(stderr, "%s\n", err);
		return;
	}
	const struct wisp_db_settings *d = db(&cfg);
	CHECK_STR(d->file, "a.db");
	CHECK_STR(d->default_owner, "b");
	CHECK_INT(d->owner_count, 3);
	int a = 0, c = 0;
	for (size_t i = 0; i < d->owner_count; i++) {
		const char *t = d->owners[i].table, *n = d->owners[i].node;
		a += (strcmp(t, "score") == 0 || strcmp(t, "guild") == 0)
			&& strcmp(n, "a") == 0;
		c += strcmp(t, "mail") == 0 && strcmp(n, "c") == 0;
	}
	CHECK_INT(a, 2);
	CHECK_INT(c, 1);
	wisp_config_free(&cfg);
	/* one db node: it owns every table */
	CHECK(load("return { nodes = { a = { id = 1, roles = { 'db' } } } }",
		&cfg) == NULL);
	CHECK_STR(db(&cfg)->default_owner, "a");
	CHECK_INT(db(&cfg)->owner_count, 0);
	wisp_config_free(&cfg);
	refused("return { nodes = { a = { id = 1, db = { file = 'x' } } } }",
		"nodes.a has a db table but not the db role");
	refused("return { nodes = { a = { id = 1, roles = { 'db' } },\n"
		"  b = { id = 2, roles = { 'db' } } } }",
		"both have the db role and no db.tables");
	refused("return { nodes = { a = { id = 1, roles = { 'db' }, db = { tables\n"
		"  = { 'x' } } }, b = { id = 2, roles = { 'db' }, db = { tables =\n"
		"  { 'y', 'x' } } } } }", "the table x is in the db.tables of both");
	refused("return { nodes = { a = { id = 1, roles = { 'db' }, db = { tables\n"
		"  = { 'no such' } } } } }", "nodes.a.db.tables[1] must be a table name");
	refused("return { nodes = { a = { id = 1, roles = { 'db' }, db = { tables\n"
		"  = 'x' } } } }", "key 'tables' in nodes.a.db must be a list");
	refused("return { nodes = { a = { id = 1, roles = { 'db' }, db = {\n"
		"  table = { 'x' } } } } }", "unknown key 'table' in nodes.a.db");
	refused("return { nodes = { a = { id = 1, roles = { 'db' }, db = 'x' } } }",
		"key 'db' in nodes.a must be a table");
}

/* A config with the given keys in its db table, for the refused cases. */
static void refused_db(const char *keys, const char *want)
{
	char text[512];
	snprintf(text, sizeof(text), "return { db = { %s },\n"
		"  nodes = { a = { id = 1, roles = { 'db' } } } }", keys);
	refused(text, want);
}

static void bad_dbs(void)
{
	refused("return { db = 'x.db', nodes = { a = { id = 1 } } }",
		"key 'db' in the config must be a table");
	refused_db("colour = 1", "unknown key 'colour' in db");
	refused_db("memcached = { servers = {}, colour = 1 }",
		"unknown key 'colour' in db.memcached");
	refused_db("memcached = { server = '127.0.0.1:11211' }",
		"unknown key 'server' in db.memcached (did you mean 'servers'?)");
	refused_db("file = ''", "key 'file' in db must be a non-empty path");
	refused_db("file = {}", "key 'file' in db must be a string");
	refused_db("migrations = ''", "key 'migrations' in db must be a non-empty");
	refused_db("synchronous = 'fast'",
		"key 'synchronous' in db must be one of off, normal, full");
	refused_db("synchronous = 1",
		"key 'synchronous' in db must be one of off, normal, full");
	refused_db("cache_size = -1",
		"key 'cache_size' in db must be an integer from 0 to 1099511627776");
	refused_db("cache_size = 1099511627777", "key 'cache_size' in db");
	refused_db("batch = 0", "key 'batch' in db must be an integer from 1 "
		"to 100000");
	refused_db("batch = 1.5", "key 'batch' in db must be an integer");
	refused_db("memcached = 5", "key 'memcached' in db must be a table");
	refused_db("memcached = { servers = '127.0.0.1:11211' }",
		"key 'servers' in db.memcached must be a list of \"host:port\" "
		"strings");
	refused_db("memcached = { servers = { '127.0.0.1' } }",
		"db.memcached.servers[1] must be \"host:port\" (port 1 to 65535), "
		"not '127.0.0.1'");
	refused_db("memcached = { servers = { 'a:1', 'h:0' } }",
		"db.memcached.servers[2] must be \"host:port\"");
	refused_db("memcached = { servers = { 'h:65536' } }",
		"db.memcached.servers[1] must be");
	refused_db("memcached = { servers = { ':11211' } }",
		"db.memcached.servers[1] must be");
	refused_db("memcached = { servers = { 'h:+1' } }",
		"db.memcached.servers[1] must be");
	refused_db("memcached = { servers = { 'a b:1' } }",
		"db.memcached.servers[1] must be");
	refused_db("memcached = { servers = { 11211 } }",
		"db.memcached.servers[1] must be \"host:port\" (port 1 to 65535), "
		"not 'number'");
	refused_db("memcached = { servers = { 'h:1', x = 'h:2' } }",
		"key 'servers' in db.memcached must be a list");
	refused_db("memcached = { prefix = 'a b' }",
		"key 'prefix' in db.memcached must be up to 127 characters");
	refused_db("memcached = { ttl = 0 }",
		"key 'ttl' in db.memcached must be an integer from 1 to 2592000");
	refused_db("memcached = { ttl = 2592001 }", "key 'ttl' in db.memcached");
	refused_db("memcached = { compress = -1 }",
		"key 'compress' in db.memcached must be an integer from 0");
	refused_db("memcached = { timeout = 0 }",
		"key 'timeout' in db.memcached must be an integer from 1 to 10000");
	refused_db("memcached = { timeout = 10001 }",
		"key 'timeout' in db.memcached");
	refused_db("static = 'item'",
		"key 'static' in db must be a list of table names");
	refused_db("static = { item = true }",
		"key 'static' in db must be a list of table names");
	refused_db("static = { 'item', 'bad-name' }",
		"db.static[2] must be a table name ([A-Za-z_][A-Za-z0-9_]*, up to 63 "
		"characters), not 'bad-name'");
	refused_db("static = { '1st' }", "db.static[1] must be a table name");
	refused_db("static = { '' }", "db.static[1] must be a table name");
	refused_db("static = { 'item\\0x' }", "db.static[1] must be a table name");
	refused_db("static = { string.rep('t', 64) }",
		"db.static[1] must be a table name");
	refused_db("static = { {} }", "db.static[1] must be a table name");
	refused_db("file = 'x.db', postgres = { conninfo = 'dbname=x' }",
		"db has both file (sqlite3) and postgres: give one of them");
	refused_db("postgres = 'dbname=x'",
		"key 'postgres' in db must be a table { conninfo = \"...\" }");
	refused_db("postgres = {}", "key 'conninfo' in db.postgres must be a "
		"libpq connection string");
	refused_db("postgres = { conninfo = '' }", "key 'conninfo' in db.postgres");
	refused_db("postgres = { connifo = 'x' }",
		"unknown key 'connifo' in db.postgres (did you mean 'conninfo'?)");
}

/* The running node's console and metrics addresses, and the token. */
static void console_settings(void)
{
	struct wisp_config cfg;
	const char *err = load(
		"return { console_token = 'a token',\n"
		"  nodes = {\n"
		"    a = { id = 1, console = '127.0.0.1:7000',\n"
		"          metrics = '0.0.0.0:9100' },\n"
		"    b = { id = 2, console = '10.1.2.3:7000' },\n"
		"  } }\n", &cfg);
	CHECK(err == NULL);
	if (err) {
		fprintf(stderr, "%s\n", err);
		return;
	}
	CHECK_STR(console(&cfg)->host, "127.0.0.1");
	CHECK_INT(console(&cfg)->port, 7000);
	CHECK_STR(console(&cfg)->metrics_host, "0.0.0.0");
	CHECK_INT(console(&cfg)->metrics_port, 9100);
	CHECK_STR(console(&cfg)->token, "a token");
	wisp_config_free(&cfg);
	/* loopback in each of its forms needs no token */
	static const char *const loopback[] = { "127.0.0.1", "127.3.2.1",
		"[::1]", "[::ffff:127.0.0.9]", "localhost" };
	for (size_t i = 0; i < sizeof(loopback) / sizeof(*loopback); i++) {
		char text[256];
		snprintf(text, sizeof(text), "return { nodes = { a = { id = 1, "
			"console = '%s:7000', metrics = '%s:7001' } } }", loopback[i],
			loopback[i]);
		err = load(text, &cfg);
		CHECK(err == NULL);
		if (err) {
			fprintf(stderr, "%s: %s\n", loopback[i], err);
			continue;
		}
		CHECK_INT(console(&cfg)->port, 7000);
		CHECK_INT(console(&cfg)->metrics_port, 7001);
		CHECK(console(&cfg)->token == NULL);
		wisp_config_free(&cfg);
	}
	/* a node without either has neither */
	CHECK(load("return { nodes = { a = { id = 1 } } }", &cfg) == NULL);
	CHECK(console(&cfg)->host == NULL);
	CHECK(console(&cfg)->metrics_host == NULL);
	CHECK(console(&cfg)->token == NULL);
	wisp_config_free(&cfg);
}

/* A config whose node a has the given keys, for the refused cases. */
static void refused_console(const char *keys, const char *want)
{
	char text[512];
	snprintf(text, sizeof(text), "return { nodes = { a = { id = 1, %s } } }",
		keys);
	refused(text, want);
}

static void bad_consoles(void)
{
	refused_console("console = '10.0.0.5:7000'", "key 'console' in nodes.a "
		"listens on 10.0.0.5, not on loopback: that needs console_token");
	refused_console("metrics = '0.0.0.0:9100'",
		"key 'metrics' in nodes.a listens on 0.0.0.0");
	refused_console("metrics = '[::]:9100'", "key 'metrics' in nodes.a "
		"listens on ::, not on loopback");
	refused_console("console = 'myhost:7000'", "needs console_token");
	refused_console("console = '128.0.0.1:7000'", "needs console_token");
	refused_console("console = '[::2]:7000'", "needs console_token");
	refused_console("console = 'localhost.example:7000'",
		"needs console_token");
	refused("return { console_token = '', nodes = { a = { id = 1,\n"
		"  console = '10.0.0.5:7000' } } }", "needs console_token");
	/* every node's addresses are checked, not only the running one's */
	refused("return { nodes = { a = { id = 1 },\n"
		"  b = { id = 2, metrics = '10.0.0.6:9100' } } }",
		"key 'metrics' in nodes.b listens on 10.0.0.6");
	refused("return { nodes = { a = { id = 1 },\n"
		"  b = { id = 2, console = '127.0.0.1' } } }",
		"key 'console' in nodes.b must be \"host:port\" (port 1 to 65535)");
	refused_console("console = ':7000'", "key 'console' in nodes.a must be");
	refused_console("console = '[]:7000'", "key 'console' in nodes.a must be");
	refused_console("console = 'h:0'", "key 'console' in nodes.a must be");
	refused_console("metrics = 'h:65536'", "key 'metrics' in nodes.a must be");
	refused_console("metrics = 'h:+1'", "key 'metrics' in nodes.a must be");
	refused_console("metrics = 'h:1x'", "key 'metrics' in nodes.a must be");
	refused_console("console = {}", "key 'console' in nodes.a must be a string");
	refused_console("console = '127.0.0.1:7000', metrics = '127.0.0.1:7000'",
		"keys 'console' and 'metrics' in nodes.a name the same address");
	refused("return { console_token = {}, nodes = { a = { id = 1 } } }",
		"key 'console_token' in the config must be a string");
}

/* A config that runs away, or whose tables raise when read, is an error
 * naming the file, never a hang or a crash of the loader. */
static void runaway_configs(void)
{
	refused("while true do end",
		"the config ran for more than 20000000 instructions");
	refused("while true do pcall(function() while true do end end) end",
		"the config ran for more than 20000000 instructions");
	refused("local t = {} for i = 1, 99 do t[i] = ('x'):rep(1 << 22) .. i end",
		"the config needs more than 64 MB of memory");
	refused("return setmetatable({}, { __index = function() "
		"error('no key') end })", "no key");
	refused("return setmetatable({ nodes = { a = { id = 1 } } },"
		" { __index = function() while true do end end })",
		"the config ran for more than");
	refused("error({})", "an error that is not a string");
}

static void missing_file(void)
{
	struct wisp_config cfg;
	char err[512];
	CHECK_INT(wisp_config_load("/nonexistent/x.lua", "a", &cfg, err,
		sizeof(err)), -1);
	CHECK(strstr(err, "/nonexistent/x.lua") != NULL);
}

int main(void)
{
	snprintf(path, sizeof(path), "/tmp/wisp_test_config_%d.lua", (int)getpid());
	wisp_builtin_register();
	RUN(good_config);
	RUN(cluster_config);
	RUN(defaults);
	RUN(watchdog_settings);
	RUN(gate_override);
	RUN(gate_routes);
	RUN(gate_contract);
	RUN(bad_configs);
	RUN(bad_gates);
	RUN(db_defaults);
	RUN(db_settings);
	RUN(db_owners);
	RUN(bad_dbs);
	RUN(console_settings);
	RUN(bad_consoles);
	RUN(runaway_configs);
	RUN(missing_file);
	unlink(path);
	return TEST_END();
}
