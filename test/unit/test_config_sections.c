/* test_config_sections.c: the config reader with no service linked, and
 * the sections a service registers with it: a key of each kind read,
 * defaulted, checked and freed; a nested table; a node's part of the
 * section read for every node and kept for the running one; unknown keys
 * named with the nearest known one; the names of a config's nodes. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include "config.h"
#include "config_reader.h"
#include "testlib.h"
#include "wisp.h"

static char path[64];

/* A made-up service's settings. */
struct widget {
	uint8_t size;
	uint32_t count;
	size_t bytes;
	int loud;
	char *label;
	char *colour;   /* its check: not "red" */
	int twice;      /* custom: twice the number given */
	uint32_t depth; /* in the nested table */
	char *badge;    /* the running node's, from its table */
	int defaulted;  /* set by the section's defaults */
};

static int freed;

static int not_red(struct reader *r, const char *where,
	const struct wisp_cfg_key *k, void *settings)
{
	const struct widget *w = settings;
	if (strcmp(w->colour, "red") == 0)
		return wisp_cfg_fail(r, "key '%s' in %s must not be red", k->name,
			where);
	return 0;
}

static int read_twice(struct reader *r, const char *where,
	const struct wisp_cfg_key *k, void *settings)
{
	lua_Integer v = 0;
	int got = wisp_cfg_integer(r, where, k->name, 0, 100, &v);
	if (got == 0)
		((struct widget *)settings)->twice = (int)(2 * v);
	return got < 0 ? -1 : 0;
}

static const struct wisp_cfg_key inner_keys[] = {
	WISP_CFG_INT_KEY("depth", struct widget, depth, 1, 9, 3),
	{ NULL, 0, 0, 0, 0, 0, 0, NULL, NULL, NULL },
};

static const struct wisp_cfg_key widget_keys[] = {
	WISP_CFG_INT_KEY("size", struct widget, size, 0, 255, 7),
	WISP_CFG_INT_KEY("count", struct widget, count, 1, UINT32_MAX, 10),
	WISP_CFG_INT_KEY("bytes", struct widget, bytes, 0, (lua_Integer)1 << 40,
		4096),
	{ "loud", WISP_CFG_BOOL, WISP_CFG_FIELD(struct widget, loud), 0, 0, 1,
		NULL, NULL, NULL },
	{ "label", WISP_CFG_STRING, WISP_CFG_FIELD(struct widget, label), 0, 0,
		0, "plain", NULL, NULL },
	{ "colour", WISP_CFG_STRING, WISP_CFG_FIELD(struct widget, colour), 0,
		0, 0, "blue", NULL, not_red },
	{ "twice", WISP_CFG_CUSTOM, 0, 0, 0, 0, 0, NULL, NULL, read_twice },
	{ "inner", WISP_CFG_TABLE, 0, 0, 0, 0, 0, NULL, inner_keys, NULL },
	{ NULL, 0, 0, 0, 0, 0, 0, NULL, NULL, NULL },
};

static const struct wisp_cfg_key top_keys[] = {
	{ "widget", WISP_CFG_TABLE, 0, 0, 0, 0, 0, NULL, widget_keys, NULL },
	{ NULL, 0, 0, 0, 0, 0, 0, NULL, NULL, NULL },
};

/* badge = "text": every node's must be short; the running node's kept. */
static int read_node(struct reader *r, const char *where, void *settings)
{
	struct widget *w = settings;
	char *badge = NULL;
	if (wisp_cfg_string(r, where, "badge", &badge) < 0)
		return -1;
	if (badge && strlen(badge) > 4) {
		wisp_free(badge);
		return wisp_cfg_fail(r, "key 'badge' in %s is too long", where);
	}
	if (r->self) {
		wisp_free(w->badge);
		w->badge = badge;
	} else {
		wisp_free(badge);
	}
	return 0;
}

static void widget_defaults(void *settings)
{
	((struct widget *)settings)->defaulted = 1;
}

static void widget_free(void *settings)
{
	wisp_free(((struct widget *)settings)->badge);
	freed++;
}

static const char *const node_keys[] = { "badge", NULL };

static const struct wisp_cfg_section widget_section = {
	.name = "widget",
	.size = sizeof(struct widget),
	.keys = top_keys,
	.node_keys = node_keys,
	.read_node = read_node,
	.defaults = widget_defaults,
	.free = widget_free,
};

static const char *load(const char *text, const char *node,
	struct wisp_config *cfg)
{
	static char err[512];
	FILE *f = fopen(path, "w");
	fputs(text, f);
	fclose(f);
	return wisp_config_load(path, node, cfg, err, sizeof(err)) == 0
		? NULL : err;
}

static void refused(const char *text, const char *want)
{
	struct wisp_config cfg;
	const char *err = load(text, "a", &cfg);
	CHECK(err != NULL);
	if (err == NULL)
		wisp_config_free(&cfg);
	else if (strstr(err, want) == NULL) {
		fprintf(stderr, "error \"%s\" lacks \"%s\"\n", err, want);
		test_failures++;
	}
}

/* Before any section: the runtime alone knows none of the services'
 * keys, and says which of its own a typo was. */
static void runtime_alone(void)
{
	struct wisp_config cfg;
	CHECK(load("return { nodes = { a = { id = 1 } } }", "a", &cfg) == NULL);
	CHECK(wisp_config_section(&cfg, &widget_section) == NULL);
	wisp_config_free(&cfg);
	refused("return { gate = {}, nodes = { a = { id = 1 } } }",
		"unknown key 'gate' in the config");
	refused("return { nodes = { a = { id = 1, console = 'x' } } }",
		"unknown key 'console' in nodes.a");
	refused("return { nodes = { a = { id = 1, servics = {} } } }",
		"unknown key 'servics' in nodes.a (did you mean 'services'?)");
	refused("return { mailbox_limt = 5, nodes = { a = { id = 1 } } }",
		"(did you mean 'mailbox_limit'?)");
	refused("return { nodes = { a = { idd = 1, id = 1 } } }",
		"unknown key 'idd' in nodes.a (did you mean 'id'?)");
}

static void defaults(void)
{
	struct wisp_config cfg;
	CHECK(load("return { nodes = { a = { id = 1 } } }", "a", &cfg) == NULL);
	const struct widget *w = wisp_config_section(&cfg, &widget_section);
	CHECK(w != NULL);
	if (w == NULL)
		return;
	CHECK_INT(w->size, 7);
	CHECK_INT(w->count, 10);
	CHECK_INT(w->bytes, 4096);
	CHECK_INT(w->loud, 1);
	CHECK_STR(w->label, "plain");
	CHECK_STR(w->colour, "blue");
	CHECK_INT(w->twice, 0);
	CHECK_INT(w->depth, 3);
	CHECK(w->badge == NULL);
	CHECK_INT(w->defaulted, 1);
	int before = freed;
	wisp_config_free(&cfg);
	CHECK_INT(freed, before + 1);
}

static void read_all(void)
{
	struct wisp_config cfg;
	const char *err = load("return { widget = { size = 255, count = "
		"4294967295, bytes = 1099511627776, loud = false, label = 'x',\n"
		"  colour = 'green', twice = 21, inner = { depth = 9 } },\n"
		"  nodes = { a = { id = 1, badge = 'aa' }, b = { id = 2, badge = 'bb' }"
		" } }", "a", &cfg);
	CHECK(err == NULL);
	if (err) {
		fprintf(stderr, "%s\n", err);
		return;
	}
	const struct widget *w = wisp_config_section(&cfg, &widget_section);
	CHECK_INT(w->size, 255);
	CHECK(w->count == UINT32_MAX);
	CHECK(w->bytes == (size_t)1 << 40);
	CHECK_INT(w->loud, 0);
	CHECK_STR(w->label, "x");
	CHECK_STR(w->colour, "green");
	CHECK_INT(w->twice, 42);
	CHECK_INT(w->depth, 9);
	CHECK_STR(w->badge, "aa"); /* the running node's, not b's */
	wisp_config_free(&cfg);
}

static void bad_sections(void)
{
	refused("return { widget = 5, nodes = { a = { id = 1 } } }",
		"key 'widget' in the config must be a table");
	refused("return { widget = { size = 256 }, nodes = { a = { id = 1 } } }",
		"key 'size' in widget must be an integer from 0 to 255");
	refused("return { widget = { loud = 1 }, nodes = { a = { id = 1 } } }",
		"key 'loud' in widget must be a boolean");
	refused("return { widget = { label = {} }, nodes = { a = { id = 1 } } }",
		"key 'label' in widget must be a string");
	refused("return { widget = { colour = 'red' }, nodes = { a = { id = 1 } } "
		"}", "key 'colour' in widget must not be red");
	refused("return { widget = { twice = 101 }, nodes = { a = { id = 1 } } }",
		"key 'twice' in widget must be an integer from 0 to 100");
	refused("return { widget = { inner = { depth = 0 } },\n"
		"  nodes = { a = { id = 1 } } }",
		"key 'depth' in widget.inner must be an integer from 1 to 9");
	refused("return { widget = { inner = { dept = 2 } },\n"
		"  nodes = { a = { id = 1 } } }",
		"unknown key 'dept' in widget.inner (did you mean 'depth'?)");
	refused("return { widget = { colur = 'x' }, nodes = { a = { id = 1 } } }",
		"unknown key 'colur' in widget (did you mean 'colour'?)");
	refused("return { widgt = {}, nodes = { a = { id = 1 } } }",
		"unknown key 'widgt' in the config (did you mean 'widget'?)");
	/* every node's part is checked, not only the running one's */
	refused("return { nodes = { a = { id = 1 }, b = { id = 2,\n"
		"  badge = 'toolong' } } }", "key 'badge' in nodes.b is too long");
	refused("return { nodes = { a = { id = 1, bdge = 'x' } } }",
		"unknown key 'bdge' in nodes.a (did you mean 'badge'?)");
}

static void node_names(void)
{
	char **names, err[512];
	size_t count;
	FILE *f = fopen(path, "w");
	fputs("return { nodes = { zed = { id = 3 }, a = { id = 1 },\n"
		"  mid = { id = 2 } } }", f);
	fclose(f);
	CHECK_INT(wisp_config_node_names(path, &names, &count, err, sizeof(err)),
		0);
	CHECK_INT(count, 3);
	if (count == 3) {
		CHECK_STR(names[0], "a");
		CHECK_STR(names[1], "mid");
		CHECK_STR(names[2], "zed");
	}
	for (size_t i = 0; i < count; i++)
		wisp_free(names[i]);
	wisp_free(names);
	f = fopen(path, "w");
	fputs("return { nodes = {} }", f);
	fclose(f);
	CHECK_INT(wisp_config_node_names(path, &names, &count, err, sizeof(err)),
		-1);
	CHECK(strstr(err, "nodes is empty") != NULL);
	CHECK_INT(wisp_config_node_names("/nonexistent/x.lua", &names, &count,
		err, sizeof(err)), -1);
	CHECK(strstr(err, "/nonexistent/x.lua") != NULL);
}

int main(void)
{
	snprintf(path, sizeof(path), "/tmp/wisp_test_sections_%d.lua",
		(int)getpid());
	RUN(runtime_alone);
	wisp_config_register(&widget_section);
	wisp_config_register(&widget_section); /* once is enough */
	RUN(defaults);
	RUN(read_all);
	RUN(bad_sections);
	RUN(node_names);
	unlink(path);
	return TEST_END();
}
