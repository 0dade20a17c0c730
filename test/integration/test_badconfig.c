/* test_badconfig.c: a node that cannot start exits non-zero with exactly
 * one line on stderr naming the problem: a config syntax error, an
 * unknown module, a port in use, an unknown key (and the key it would
 * be), a missing file. `wisp --check CONFIG` checks the config as each of
 * its nodes reads it. */
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
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
	RUN(missing_file);
	shipped_configs(argv[2]);
	return TEST_END();
}
