/* test_packed.c: WISP_MSG_LUA_PACKED, which Lua services of one node send
 * each other without the checks of WISP_MSG_LUA, is taken only from them
 * (test/packed/). The C service forger sends the Lua service target what
 * no Lua service would: the node refuses forger's own message with an
 * error and the one from another node, fails the malformed one (from a
 * service gone, so checked as WISP_MSG_LUA) alone, still serves a good
 * one, and stops with code 0 once forger has seen
 * target answer and its own message refused. */
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "proc.h"
#include "testlib.h"

#define WAIT_MS 60000 /* the whole run; it takes well under a second */

/* One line of the node's log holds both a and b. */
static void logged(const struct proc *p, const char *a, const char *b)
{
	if (!proc_log_has(p, a, b)) {
		fprintf(stderr, "no line with \"%s\" and \"%s\" in the log\n", a, b);
		test_failures++;
	}
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: test_packed WISP SOURCE_ROOT FORGER_SO\n");
		return 2;
	}
	char conf[512], modules[600], so[512];
	snprintf(conf, sizeof(conf), "%s/test/packed/packed.lua", argv[2]);
	snprintf(so, sizeof(so), "%s", argv[3]);
	snprintf(modules, sizeof(modules), "WISP_TEST_MODULES=%s", dirname(so));
	char *args[] = { argv[1], conf, "packed", NULL };
	char *env[] = { modules, NULL };
	struct proc p = { .label = "packed" };
	proc_guard(&p, 1, 0);
	CHECK_INT(proc_start(&p, args, env), 0);
	CHECK_INT(proc_wait(&p, WAIT_MS), 0);

	logged(&p, "refused a WISP_MSG_LUA_PACKED message from :", "(forger)");
	logged(&p, "forger: answered: ", "only from Lua services of its node");
	/* node 1's handles are :004xxxxx, node 2's :008xxxxx */
	logged(&p, "refused a WISP_MSG_LUA_PACKED message from :00800005",
		"(another node)");
	logged(&p, "a lua message from :004", "of 2 values: 1 ping");
	logged(&p, "ERROR", "bad tag 0xa0"); /* the one from a service gone */
	logged(&p, "forger: target is alive; its own message was refused", "");
	char *err = proc_output(&p, 1);
	CHECK_STR(err, "");
	if (test_failures)
		proc_dump(&p);
	free(err);
	proc_cleanup(&p);
	return TEST_END();
}
