/* test_config.c: a good config is read as written; each kind of bad one
 * is refused with a message naming the file, the key and the place. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include "config.h"
#include "log.h"
#include "testlib.h"

static char path[64];

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
		"          services = { 'echo 127.0.0.1:1', { 'echo', 'x y' }, 'bare' } },\n"
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
	CHECK_STR(cfg.services[2].module, "bare");
	CHECK_STR(cfg.services[2].args, "");
	CHECK_STR(wisp_config_env(&cfg, "motd"), "node a");
	CHECK_STR(wisp_config_env(&cfg, "port"), "9000");
	CHECK_STR(wisp_config_env(&cfg, "debug"), "true");
	CHECK(wisp_config_env(&cfg, "nosuch") == NULL);
	wisp_config_free(&cfg);
}

static void cluster_config(void)
{
	struct wisp_config cfg;
	const char *err = load(
		"return { secret = 's3', harbor = { heartbeat = 200, timeout = 900 },\n"
		"  nodes = {\n"
		"    r2 = { id = 9, roles = { 'root' }, harbor = '127.0.0.1:7009' },\n"
		"    a = { id = 2, harbor = '[::1]:7002' },\n"
		"    r1 = { id = 1, roles = { 'root', 'db' }, harbor = 'localhost:7001' },\n"
		"    c = { id = 3 },\n"
		"  } }\n", &cfg);
	CHECK(err == NULL);
	if (err) {
		fprintf(stderr, "%s\n", err);
		return;
	}
	CHECK_INT(cfg.peer_count, 4);
	const struct wisp_peer *a = wisp_config_peer(&cfg, "a");
	CHECK(a != NULL && a->id == 2 && a->port == 7002);
	CHECK_STR(a ? a->host : NULL, "::1");
	CHECK(wisp_config_peer(&cfg, "c")->host == NULL);
	CHECK_STR(wisp_config_peer_id(&cfg, 1)->name, "r1");
	CHECK_INT(wisp_config_peer_id(&cfg, 1)->roles, WISP_ROLE_ROOT | WISP_ROLE_DB);
	CHECK(wisp_config_peer_id(&cfg, 4) == NULL);
	CHECK_INT(cfg.root_count, 2); /* root-role nodes in id order */
	CHECK_INT(cfg.roots[0], 1);
	CHECK_INT(cfg.roots[1], 9);
	CHECK_STR(cfg.secret, "s3");
	CHECK_INT(cfg.harbor.heartbeat_ms, 200);
	CHECK_INT(cfg.harbor.timeout_ms, 900);
	CHECK_INT(cfg.harbor.max_frame, 64 << 20);
	wisp_config_free(&cfg);
	CHECK(load("return { secret = 'x', roots = { 'c', 'a' }, nodes = {\n"
		"  a = { id = 2, harbor = '127.0.0.1:1' }, c = { id = 3 } } }", &cfg) == NULL);
	CHECK_INT(cfg.root_count, 2);
	CHECK_INT(cfg.roots[0], 3);
	wisp_config_free(&cfg);
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
	wisp_config_free(&cfg);
}

/* Each bad config must be refused with a message containing want. */
static void refused(const char *text, const char *want)
{
	struct wisp_config cfg;
	const char *err = load(text, &cfg);
	CHECK(err != NULL);
	if (err && strstr(err, want) == NULL) {
		fprintf(stderr, "error \"%s\" lacks \"%s\"\n", err, want);
		test_failures++;
	}
	if (err)
		CHECK(strncmp(err, path, strlen(path)) == 0);
}

static void bad_configs(void)
{
	refused("return { nodes = { a = { id = 1 } }", ":1:");
	refused("return 5", "must return a table");
	refused("return { nodes = { a = { id = 1 } }, colour = 1 }",
		"unknown key 'colour' in the config");
	refused("return { nodes = { a = { id = 1, colour = 1 } } }",
		"unknown key 'colour' in nodes.a");
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
	refused("return { nodes = { a = { id = 1, harbor = '127.0.0.1:7001' } } }",
		"missing required key 'secret'");
	refused("return { roots = { 'z' }, nodes = { a = { id = 1 } } }",
		"roots names 'z', which is not in nodes");
	refused("return { harbor = { beat = 1 }, nodes = { a = { id = 1 } } }",
		"unknown key 'beat' in harbor");
	refused("return { harbor = { timeout = 1 }, nodes = { a = { id = 1 } } }",
		"key 'timeout' in harbor must be an integer from 20");
	refused("return { nodes = { ['a b'] = { id = 2 }, a = { id = 1 } } }",
		"'a b' is not a valid node name");
	refused("return { nodes = { a = { id = 1 }, b = 5 } }", "nodes.b must be a table");
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
	RUN(good_config);
	RUN(cluster_config);
	RUN(defaults);
	RUN(bad_configs);
	RUN(missing_file);
	unlink(path);
	return TEST_END();
}
