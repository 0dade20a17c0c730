/* test_demo.c: the README's first command ends in tools/demo.sh; this runs
 * it (with this build's wisp and wisp-bots, the cluster on free ports)
 * and checks what it printed: the bots played with no error, every chat line
 * reached its room, every bot got its state back after the restart, and
 * the cluster stopped cleanly. */
#include <stdio.h>
#include <stdlib.h>
#include "proc.h"
#include "testlib.h"

/* The numbers of "chat deliveries N of M expected" are equal and not 0. */
static void check_deliveries(const char *out)
{
	const char *line = strstr(out, "summary: chat deliveries ");
	unsigned long heard = 0, expected = 0;
	CHECK(line != NULL);
	if (line == NULL)
		return;
	CHECK_INT(sscanf(line, "summary: chat deliveries %lu of %lu", &heard,
		&expected), 2);
	CHECK(expected > 0);
	CHECK_INT(heard, expected);
}

/* Both runs of the bots ended with a summary saying "errors 0". */
static void check_no_errors(const char *out)
{
	int summaries = 0;
	for (const char *at = out; (at = strstr(at, ", errors ")) != NULL;
		at++) {
		summaries++;
		CHECK(strncmp(at, ", errors 0\n", 11) == 0);
	}
	CHECK_INT(summaries, 2);
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: test_demo WISP SOURCE_ROOT\n");
		return 2;
	}
	char script[512], wisp[600], gate[64], harbors[64];
	snprintf(script, sizeof(script), "%s/tools/demo.sh", argv[2]);
	snprintf(wisp, sizeof(wisp), "WISP=%s", argv[1]);
	/* the harbors at base + 1..7, the gate at base + 8 */
	int base = free_port_run(9);
	CHECK(base > 0);
	snprintf(harbors, sizeof(harbors), "WISP_DEMO_PORT_BASE=%d", base);
	snprintf(gate, sizeof(gate), "WISP_GATE_ADDR=127.0.0.1:%d", base + 8);
	char *args[] = { "/bin/bash", script, NULL };
	char *env[] = { wisp, gate, harbors, NULL };
	struct proc p;
	CHECK_INT(proc_start(&p, args, env), 0);
	CHECK_INT(proc_wait(&p, 90000), 0);
	char *out = proc_output(&p, 0);
	CHECK(strstr(out, "summary: 50 bots, 50 logged in"));
	check_no_errors(out);
	check_deliveries(out);
	CHECK(strstr(out, "summary: 50 of 50 logins gave back the saved state"));
	CHECK(strstr(out, "demo: node root stopped (exit 0)"));
	CHECK(strstr(out, "demo: the game stopped cleanly"));
	if (test_failures) {
		char *err = proc_output(&p, 1);
		fprintf(stderr, "stdout:\n%s\nstderr:\n%s\n", out, err);
		free(err);
	}
	free(out);
	proc_cleanup(&p);
	return TEST_END();
}
