/* run_lua.c: runs one Lua test script in a real node (test/lua/node.lua)
 * and passes if the node exits 0 after the harness reported no failure. */
#include <stdio.h>
#include <stdlib.h>
#include "proc.h"
#include "testlib.h"

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: run_lua WISP SOURCE_ROOT TEST\n");
		return 2;
	}
	char conf[512], test[128];
	snprintf(conf, sizeof(conf), "%s/test/lua/node.lua", argv[2]);
	snprintf(test, sizeof(test), "WISP_TEST=%s", argv[3]);
	char *args[] = { argv[1], conf, "test", NULL };
	char *env[] = { test, NULL };
	struct proc p;
	CHECK_INT(proc_start(&p, args, env), 0);
	CHECK_INT(proc_wait(&p, 110000), 0);
	char *out = proc_output(&p, 0), *err = proc_output(&p, 1);
	CHECK(strstr(out, " passed, 0 failed") != NULL);
	CHECK_STR(err, "");
	fputs(out, stdout);
	fputs(err, stderr);
	free(out);
	free(err);
	proc_cleanup(&p);
	return TEST_END();
}
