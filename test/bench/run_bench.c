/* run_bench.c: runs one Lua benchmark script in a real node and prints
 * the BENCH lines it logged, without the log prefix. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../integration/proc.h"

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: run_bench WISP SOURCE_ROOT SCRIPT\n");
		return 2;
	}
	char conf[512], script[128];
	snprintf(conf, sizeof(conf), "%s/test/bench/lua/node.lua", argv[2]);
	snprintf(script, sizeof(script), "WISP_BENCH=%s", argv[3]);
	char *args[] = { argv[1], conf, "bench", NULL };
	char *env[] = { script, NULL };
	struct proc p;
	if (proc_start(&p, args, env) < 0)
		return 1;
	int code = proc_wait(&p, 550000);
	int found = proc_print_bench(&p);
	if (code != 0 || found == 0) {
		char *err = proc_output(&p, 1);
		fprintf(stderr, "benchmark %s failed (exit %d):\n%s\n", argv[3], code,
			err);
		free(err);
	}
	proc_cleanup(&p);
	return code == 0 && found ? 0 : 1;
}
