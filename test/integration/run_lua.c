/* run_lua.c: runs one Lua test script in a real node (test/lua/node.lua)
 * and passes if the node exits 0 after the harness reported at least one
 * case passed and none failed: a script whose cases never ran (none
 * declared, or a typo in their loop) is a failure, not a pass. */
#include <stdio.h>
#include <stdlib.h>
#include "proc.h"
#include "testlib.h"

/* The counts of the harness's "lua tests: N passed, N failed" line in
 * out: 0, or -1 when there is no such line. */
static int counts(const char *out, int *passed, int *failed)
{
	const char *line = strstr(out, "lua tests: ");
	return line && sscanf(line, "lua tests: %d passed, %d failed", passed,
		failed) == 2 ? 0 : -1;
}

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
	int passed = 0, failed = 0;
	CHECK_INT(counts(out, &passed, &failed), 0);
	CHECK(passed > 0);
	CHECK_INT(failed, 0);
	CHECK_STR(err, "");
	fputs(out, stdout);
	fputs(err, stderr);
	free(out);
	free(err);
	proc_cleanup(&p);
	return TEST_END();
}
