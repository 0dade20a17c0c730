/* test_badconfig.c: a node that cannot start exits non-zero with exactly
 * one line on stderr naming the problem: a config syntax error, an
 * unknown module, a port in use, an unknown key (and the key it would
 * be), a missing file. `wisp --check CONFIG` checks the config as each of
 * its nodes reads it, then the cluster as a whole: scripts and modules on
 * their paths, the services routes name, ports used twice. */
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include "proc.h"
#include "testlib.h"

static const char *wisp;
static char conf[64];

static void write_conf(const char *text)
{
	FILE *f = fopen(conf, "w");
	fputs(text, f);
	fclose(f);
}

/* Runs wisp on conf; expects exit 1 and one stderr line containing want. */
static void expect_failure(const char *node, const char *want)
{
	char *args[] = { (char *)wisp, conf, (char *)node, NULL };
	struct proc p;
	CHECK_INT(proc_start(&p, args, NULL), 0);
	CHECK_INT(proc_wait(&p, 10000), 1);
	char *err = proc_output(&p, 1);
	CHECK_INT(proc_count_lines(err), 1);
	if (strstr(err, want) == NULL) {
		fprintf(stderr, "stderr \"%s\" lacks \"%s\"\n", err, want);
		test_failures++;
	}
	free(err);
	proc_cleanup(&p);
}

static void syntax_error(void)
{
	write_conf("return { nodes = { a = { id = 1 }\n");
	expect_failure("a", "'}' expected");
}

static void unknown_module(void)
{
	write_conf("return { nodes = { a = { id = 1, services = { 'nosuch' } } } }");
	expect_failure("a", "cannot start service nosuch: module 'nosuch' not found");
}

static void port_in_use(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET,
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	bind(fd, (struct sockaddr *)&a, sizeof(a));
	listen(fd, 1);
	getsockname(fd, (struct sockaddr *)&a, &len);
	char text[256];
	snprintf(text, sizeof(text), "return { nodes = { a = { id = 1, services = "
		"{ 'echo 127.0.0.1:%d' } } } }", ntohs(a.sin_port));
	write_conf(text);
	expect_failure("a", "Address already in use");
	close(fd);
}

/* A Lua service of the config whose main chunk raises: the node cannot
 * be what its config says, so it stops, saying why. */
static void lua_service_fails(void)
{
	char script[64], text[256];
	snprintf(script, sizeof(script), "/tmp/wisp_badsvc_%d.lua", (int)getpid());
	FILE *f = fopen(script, "w");
	fputs("error('this service is broken')\n", f);
	fclose(f);
	snprintf(text, sizeof(text), "return { lua_path = '/tmp/?.lua', nodes = "
		"{ a = { id = 1, services = { 'lua wisp_badsvc_%d' } } } }",
		(int)getpid());
	write_conf(text);
	expect_failure("a", "failed to start: /tmp/wisp_badsvc_");
	unlink(script);
}

static void unknown_key(void)
{
	write_conf("return { nodes = { a = { id = 1, servics = {} } } }");
	expect_failure("a", "unknown key 'servics' in nodes.a (did you mean "
		"'services'?)");
	/* a key of a service's section, as the runtime knows none of them */
	write_conf("return { gate = { max_bdy = 5 }, nodes = { a = { id = 1 } } }");
	expect_failure("a", "unknown key 'max_bdy' in gate (did you mean "
		"'max_body'?)");
}

static void unknown_node(void)
{
	write_conf("return { nodes = { a = { id = 1 } } }");
	expect_failure("b", "no node named 'b'");
}

static void missing_file(void)
{
	unlink(conf);
	expect_failure("a", "cannot open");
}

/* `wisp --check CONFIG`: exit code, stdout and stderr of the check of
 * every node, malloc'd (NULL when not wanted). */
static int check_all(const char *config, char **out, char **err)
{
	char *args[] = { (char *)wisp, "--check", (char *)config, NULL };
	struct proc p;
	CHECK_INT(proc_start(&p, args, NULL), 0);
	int code = proc_wait(&p, 10000);
	*out = proc_output(&p, 0);
	*err = proc_output(&p, 1);
	proc_cleanup(&p);
	return code;
}

/* Without a node, --check reads the config as each node would: what is
 * wrong for one node only is found, and its node named. */
static void check_every_node(void)
{
	char *out, *err;
	write_conf("return { nodes = { a = { id = 1 }, b = { id = 2,\n"
		"  roles = { 'net' } } } }");
	CHECK_INT(check_all(conf, &out, &err), 1);
	CHECK_INT(proc_count_lines(err), 1);
	CHECK(strstr(err, "nodes.b has the net role but no gate.listen") != NULL);
	free(out);
	free(err);
	write_conf("return { nodes = { a = { id = 1 }, b = { id = 2 } } }");
	CHECK_INT(check_all(conf, &out, &err), 0);
	CHECK(strstr(out, "2 nodes checked: a b") != NULL);
	free(out);
	free(err);
}

static void write_file(const char *dir, const char *name, const char *text)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	fputs(text, f);
	fclose(f);
}

/* Mistakes only the whole cluster shows, each told (five), and what is
 * right not: room is registered by game's script, chat by a module that
 * game's lobby.lua requires, echo is a module on the default path. */
static void check_cluster(void)
{
	char dir[64], text[2048], *out, *err;
	snprintf(dir, sizeof(dir), "/tmp/wisp_badconf_%d_lua", (int)getpid());
	mkdir(dir, 0755);
	write_file(dir, "room.lua", "local wisp = require 'wisp'\n"
		"wisp.start(function() wisp.register(\"room\") end)\n");
	write_file(dir, "lobby.lua", "local helper = require(\"helper\")\n");
	write_file(dir, "helper.lua", "return function(wisp) "
		"wisp.register('chat') end\n");
	snprintf(text, sizeof(text), "return { secret = os.getenv('WISP_SECRET'),"
		" lua_path = '%s/?.lua', nodes = {\n"
		" root = { id = 1, roles = { 'root' }, harbor = '127.0.0.1:7301',"
		"   console = '127.0.0.1:7310' },\n"
		" game = { id = 2, harbor = '127.0.0.1:7302', services = {"
		"   'lua room', 'lua lobby', 'lua nosuch_script', 'nosuch_module',"
		"   'echo' } },\n"
		" net = { id = 3, roles = { 'net' }, harbor = '127.0.0.1:7303',"
		"   gate = { listen = '127.0.0.1:7310', events = 'login@ghost',"
		"   commands = { { 1, 'room@game' }, { 2, 'chat@game' },"
		"     { 3, 'shop@game' }, { 4, 'room' } } } } } }\n", dir);
	write_conf(text);
	CHECK_INT(check_all(conf, &out, &err), 1);
	static const char *const told[] = {
		"node game: script 'nosuch_script' is not on the lua path",
		"node game: module 'nosuch_module' is not built in and not on the "
			"module path",
		"node net: gate.events names login@ghost, but the config has no "
			"node ghost",
		"node net: the route of gate.commands 3 names shop@game, but no "
			"service of node game registers 'shop'",
		"node root: console 127.0.0.1:7310 is the port of gate.listen of "
			"node net too",
		"5 mistakes",
	};
	for (size_t i = 0; i < sizeof(told) / sizeof(*told); i++)
		if (strstr(err, told[i]) == NULL) {
			fprintf(stderr, "--check said:\n%s\nwithout: %s\n", err, told[i]);
			test_failures++;
		}
	CHECK_INT(proc_count_lines(err), 6);
	CHECK_STR(out, "");
	free(out);
	free(err);
	for (const char *f = "room.lua\0lobby.lua\0helper.lua\0"; *f;
			f += strlen(f) + 1) {
		char path[256];
		snprintf(path, sizeof(path), "%s/%s", dir, f);
		unlink(path);
	}
	rmdir(dir);
}

/* Every config that ships is right for every node it names. */
static void shipped_configs(const char *root)
{
	static const char *const cases[][2] = {
		{ "conf/echo.lua", "main" }, { "conf/single.lua", "main" },
		{ "conf/demo.lua", "root" }, { "conf/demo.lua", "net" },
		{ "conf/demo.lua", "game1" }, { "conf/demo.lua", "game2" },
		{ "conf/demo.lua", "db" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		char path[512];
		snprintf(path, sizeof(path), "%s/%s", root, cases[i][0]);
		char *args[] = { (char *)wisp, "--check", path, (char *)cases[i][1],
			NULL };
		struct proc p;
		CHECK_INT(proc_start(&p, args, NULL), 0);
		int code = proc_wait(&p, 10000);
		if (code != 0) {
			char *err = proc_output(&p, 1);
			fprintf(stderr, "%s %s: exit %d: %s\n", cases[i][0], cases[i][1],
				code, err);
			free(err);
			test_failures++;
		}
		proc_cleanup(&p);
	}
	/* and the check of every node of the demo names all seven */
	char path[512], *out, *err;
	snprintf(path, sizeof(path), "%s/conf/demo.lua", root);
	CHECK_INT(check_all(path, &out, &err), 0);
	CHECK(strstr(out, "7 nodes checked: db game1 game2 game3 lobby net "
		"root") != NULL);
	free(out);
	free(err);
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: test_badconfig WISP SOURCE_ROOT\n");
		return 2;
	}
	wisp = argv[1];
	snprintf(conf, sizeof(conf), "/tmp/wisp_badconf_%d.lua", (int)getpid());
	RUN(syntax_error);
	RUN(unknown_module);
	RUN(port_in_use);
	RUN(lua_service_fails);
	RUN(unknown_key);
	RUN(unknown_node);
	RUN(check_every_node);
	RUN(check_cluster);
	RUN(missing_file);
	shipped_configs(argv[2]);
	return TEST_END();
}
