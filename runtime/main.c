/* main.c: `wisp CONFIG NODE`: read the config and run that node. */
#include <stdio.h>
#include <string.h>
#include "config.h"
#include "node.h"

static int usage(void)
{
	fprintf(stderr, "usage: wisp [--check] CONFIG NODE\n"
		"  CONFIG   a Lua config file (see conf/)\n"
		"  NODE     the name of the node in it to start\n"
		"  --check  only read the config: exit 0 if it is right\n");
	return 2;
}

int main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "--help") == 0)
		return usage(), 0;
	int check = argc == 4 && strcmp(argv[1], "--check") == 0;
	if (argc != 3 + check)
		return usage();
	struct wisp_config cfg;
	char err[1024];
	if (wisp_config_load(argv[1 + check], argv[2 + check], &cfg, err,
			sizeof(err)) < 0) {
		fprintf(stderr, "wisp: config error: %s\n", err);
		return 1;
	}
	int code = check ? 0 : wisp_node_run(&cfg);
	wisp_config_free(&cfg);
	return code;
}
