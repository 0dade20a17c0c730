/* test_demo.c: the README's first command ends in tools/demo.sh; this runs
 * it (with this build's wisp and free ports) and checks that the cluster
 * answered across nodes and stopped cleanly. */
#include <stdio.h>
#include <stdlib.h>
#include "proc.h"
#include "testlib.h"

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: test_demo WISP SOURCE_ROOT\n");
		return 2;
	}
	char script[512], wisp[600], ports[64];
	snprintf(script, sizeof(script), "%s/tools/demo.sh", argv[2]);
	snprintf(wisp, sizeof(wisp), "WISP=%s", argv[1]);
	snprintf(ports, sizeof(ports), "WISP_DEMO_PORT_BASE=%d", free_port_run(6));
	char *args[] = { "/bin/bash", script, NULL };
	char *env[] = { wisp, ports, NULL };
	struct proc p;
	CHECK_INT(proc_start(&p, args, env), 0);
	CHECK_INT(proc_wait(&p, 60000), 0);
	char *out = proc_output(&p, 0);
	CHECK(strstr(out, "demo: hello, visitor, by name (greeting 1, from game2)"));
	CHECK(strstr(out, "by name@node (greeting 2, from game2)"));
	CHECK(strstr(out, "calls from game1 to game2 in"));
	CHECK(strstr(out, "demo: the cluster stopped cleanly"));
	if (test_failures) {
		char *err = proc_output(&p, 1);
		fprintf(stderr, "stdout:\n%s\nstderr:\n%s\n", out, err);
		free(err);
	}
	free(out);
	proc_cleanup(&p);
	return TEST_END();
}
