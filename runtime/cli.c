/* cli.c: the wisp command line. `wisp CONFIG NODE`: read the config and
 * run that node; `wisp CONFIG`: run the master, which runs every node of
 * it; `wisp --check CONFIG [NODE]`: read it as that node, or as each of
 * its nodes, and say what is wrong; `wisp --new-secret`: print a fresh
 * cluster secret. The executable's main (services/main.c) registers the
 * built-in services first. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "alloc.h"
#include "check.h"
#include "config.h"
#include "config_secret.h"
#include "master.h"
#include "node.h"
#include "watch.h"
#include "wisp.h"

struct options {
	int check;
	const char *log;     /* a node's log file, over the config's */
	const char *run_dir; /* the master's */
	const char *log_max; /* the master's, in bytes */
	const char *nodes;   /* the master's: NAME,NAME (this host's) */
	const char *watch;   /* a node's: the fd of the master's watch page */
	const char *config;
	const char *node;    /* NULL: the master, or --check of every node */
};

static int usage(void)
{
	fprintf(stderr, "usage: wisp [--check] [--log FILE] CONFIG NODE\n"
		"       wisp [--run-dir DIR] [--log-max BYTES] [--nodes LIST] "
		"CONFIG\n"
		"       wisp --check CONFIG\n"
		"       wisp --new-secret\n"
		"  CONFIG   a Lua config file (see conf/)\n"
		"  NODE     the name of the node in it to start; without it, wisp\n"
		"           is the master: it starts every node of CONFIG, restarts\n"
		"           those that die, rotates their logs, and on SIGTERM or\n"
		"           SIGINT stops them (net, game, db, then root nodes)\n"
		"  --check  only read the config (as NODE, or as each of its\n"
		"           nodes without one): exit 0 if it is right\n"
		"  --log FILE       log to FILE instead of the config's log_file\n"
		"  --run-dir DIR    the master's directory for DIR/NODE.log (each\n"
		"                   node's log) and DIR/NODE.out (its stdout and\n"
		"                   stderr); default run\n"
		"  --log-max BYTES  a node's log past this size is rotated to\n"
		"                   NODE.log.1 (5 are kept); default 67108864\n"
		"  --nodes LIST     the master starts only these nodes (NAME,NAME:\n"
		"                   this host's, when the config names several)\n"
		"  --watch FD       (given by the master) the page through which it\n"
		"                   watches the node for being stuck\n"
		"  --new-secret     print a fresh random cluster secret (32 bytes,\n"
		"                   base64url) for the config's secret, which must\n"
		"                   be at least 32 characters, varied, and not an\n"
		"                   example from wisp's repository\n");
	return 2;
}

/* Options first, then CONFIG [NODE]; 0, or -1 when they do not fit. */
static int parse(int argc, char **argv, struct options *o)
{
	int i = 1;
	for (; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
		const char **value = strcmp(argv[i], "--log") == 0 ? &o->log
			: strcmp(argv[i], "--run-dir") == 0 ? &o->run_dir
			: strcmp(argv[i], "--log-max") == 0 ? &o->log_max
			: strcmp(argv[i], "--nodes") == 0 ? &o->nodes
			: strcmp(argv[i], "--watch") == 0 ? &o->watch : NULL;
		if (strcmp(argv[i], "--check") == 0)
			o->check = 1;
		else if (value == NULL || i + 1 == argc)
			return -1;
		else
			*value = argv[++i];
	}
	if (argc - i < 1 || argc - i > 2)
		return -1;
	o->config = argv[i];
	o->node = argv[i + 1]; /* argv[argc] is NULL */
	int master_only = o->run_dir || o->log_max || o->nodes;
	if (o->node)
		return master_only ? -1 : 0;
	if (o->check)
		return master_only || o->log || o->watch ? -1 : 0;
	return o->log || o->watch ? -1 : 0;
}

static int run_master(const struct options *o)
{
	struct wisp_master_options mo = { o->run_dir ? o->run_dir : "run",
		64u << 20, o->nodes };
	if (o->log_max) {
		char *end;
		unsigned long long max = strtoull(o->log_max, &end, 10);
		if (*end != '\0' || max == 0 || o->log_max[0] == '-')
			return usage();
		mo.log_max = (size_t)max;
	}
	return wisp_master_run(o->config, &mo);
}

/* A node the master started writes its progress where the master looks;
 * without the page it runs as well, unwatched. */
static void attach_watch(const char *fd)
{
	char *end;
	long n = strtol(fd, &end, 10);
	/* never 0, 1 or 2: the master gives the node other files there */
	if (*end != '\0' || n < 3 || n > 65535 || wisp_watch_attach((int)n) < 0)
		fprintf(stderr, "wisp: cannot map the master's watch page (--watch "
			"%s); running unwatched\n", fd);
}

static int run_node(const struct options *o)
{
	struct wisp_config cfg;
	char err[1024];
	if (o->watch)
		attach_watch(o->watch);
	if (wisp_config_load(o->config, o->node, &cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "wisp: config error: %s\n", err);
		return 1;
	}
	if (o->log) {
		wisp_free(cfg.log_file);
		cfg.log_file = wisp_strdup(o->log);
	}
	int code = o->check ? 0 : wisp_node_run(&cfg);
	wisp_config_free(&cfg);
	return code;
}

struct checked {
	char **names;
	size_t count;
	struct wisp_check *cluster;
};

/* Keeps the name of a node whose config was read well, and looks at it
 * as part of the cluster. */
static int checked(const char *node, const struct wisp_config *cfg, void *ud)
{
	struct checked *c = ud;
	c->names = wisp_realloc(c->names, (c->count + 1) * sizeof(*c->names));
	c->names[c->count++] = wisp_strdup(node);
	wisp_check_node(c->cluster, node, cfg);
	return 0;
}

/* Reads the config as each of its nodes would (the first thing wrong
 * stops it), then checks the cluster (check.h: every mistake is told);
 * says on stdout which nodes were checked, when all is right. */
static int check_all(const char *config)
{
	char err[1024];
	struct checked c = { NULL, 0, wisp_check_new() };
	int rc = wisp_config_load_each(config, checked, &c, err, sizeof(err));
	size_t mistakes = wisp_check_finish(c.cluster, rc == 0);
	if (rc < 0)
		fprintf(stderr, "wisp: config error: %s\n", err);
	else if (mistakes) {
		fprintf(stderr, "wisp: %s: %zu mistake%s\n", config, mistakes,
			mistakes == 1 ? "" : "s");
		rc = -1;
	} else
		printf("%s: %zu node%s checked:", config, c.count,
			c.count == 1 ? "" : "s");
	for (size_t i = 0; i < c.count; i++) {
		if (rc == 0)
			printf(" %s", c.names[i]);
		wisp_free(c.names[i]);
	}
	if (rc == 0)
		printf("\n");
	wisp_free(c.names);
	return rc < 0 ? 1 : 0;
}

/* One line a config can hold as its secret (or a script as WISP_SECRET). */
static int new_secret(void)
{
	char secret[WISP_SECRET_NEW_LEN + 1];
	if (wisp_secret_new(secret) < 0) {
		perror("wisp: no random bytes for a secret");
		return 1;
	}
	printf("%s\n", secret);
	return 0;
}

int wisp_main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "--help") == 0)
		return usage(), 0;
	if (argc == 2 && strcmp(argv[1], "--new-secret") == 0)
		return new_secret();
	struct options o = { 0 };
	if (parse(argc, argv, &o) < 0)
		return usage();
	wisp_alloc_init();
	if (o.node == NULL && o.check)
		return check_all(o.config);
	return o.node ? run_node(&o) : run_master(&o);
}
