/* config_section.c: the parts of a config that services own. A service
 * registers a section (config_reader.h): its settings, the keys it adds
 * to the top level, each with its kind, default and check, and its part
 * of each node's table. Every config read after that has the section's
 * settings, and the reader checks its keys as it checks its own, so that
 * `wisp --check` still sees every key. */
#include <lauxlib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "config.h"
#include "config_reader.h"
#include "wisp.h"

static struct {
	const struct wisp_cfg_section *list[WISP_CONFIG_SECTIONS];
	size_t count;
} S;

void wisp_config_register(const struct wisp_cfg_section *s)
{
	for (size_t i = 0; i < S.count; i++)
		if (S.list[i] == s)
			return;
	if (S.count == WISP_CONFIG_SECTIONS) {
		/* a build with more services than this must raise it */
		fprintf(stderr, "wisp: cannot register the config section %s: "
			"WISP_CONFIG_SECTIONS (%d) are registered already\n", s->name,
			WISP_CONFIG_SECTIONS);
		abort();
	}
	S.list[S.count++] = s;
}

void *wisp_config_section(const struct wisp_config *cfg,
	const struct wisp_cfg_section *s)
{
	for (size_t i = 0; i < S.count; i++)
		if (S.list[i] == s)
			return cfg->sections[i];
	return NULL;
}

/* ---- keys ---- */

static void *field(void *settings, const struct wisp_cfg_key *k)
{
	return (char *)settings + k->offset;
}

/* v into an unsigned field of k->width bytes; in range, as read. */
static void store(void *settings, const struct wisp_cfg_key *k,
	lua_Integer v)
{
	void *at = field(settings, k);
	switch (k->width) {
	case 1: *(uint8_t *)at = (uint8_t)v; break;
	case 2: *(uint16_t *)at = (uint16_t)v; break;
	case 4: *(uint32_t *)at = (uint32_t)v; break;
	default: *(uint64_t *)at = (uint64_t)v; break;
	}
}

void wisp_cfg_key_defaults(const struct wisp_cfg_key *keys, void *settings)
{
	for (const struct wisp_cfg_key *k = keys; k && k->name; k++) {
		if (k->kind == WISP_CFG_INT)
			store(settings, k, k->def);
		else if (k->kind == WISP_CFG_BOOL)
			*(int *)field(settings, k) = (int)k->def;
		else if (k->kind == WISP_CFG_STRING)
			*(char **)field(settings, k) = k->text ? wisp_strdup(k->text)
				: NULL;
		else if (k->kind == WISP_CFG_TABLE)
			wisp_cfg_key_defaults(k->sub, settings);
	}
}

void wisp_cfg_key_free(const struct wisp_cfg_key *keys, void *settings)
{
	for (const struct wisp_cfg_key *k = keys; k && k->name; k++) {
		if (k->kind == WISP_CFG_STRING) {
			wisp_free(*(char **)field(settings, k));
			*(char **)field(settings, k) = NULL;
		} else if (k->kind == WISP_CFG_TABLE) {
			wisp_cfg_key_free(k->sub, settings);
		}
	}
}

/* The names of keys, NULL-terminated, in a new list. */
static const char **key_names(const struct wisp_cfg_key *keys)
{
	size_t n = 0;
	while (keys[n].name)
		n++;
	const char **names = wisp_malloc((n + 1) * sizeof(*names));
	for (size_t i = 0; i < n; i++)
		names[i] = keys[i].name;
	names[n] = NULL;
	return names;
}

/* t[k->name], a table, whose keys are k->sub; where.key names it. */
static int read_table(struct reader *r, const char *where,
	const struct wisp_cfg_key *k, void *settings)
{
	int got = wisp_cfg_field(r, where, k->name, LUA_TTABLE, "a table");
	if (got != 0)
		return got < 0 ? -1 : 0;
	char inner[160];
	if (strcmp(where, "the config") == 0)
		snprintf(inner, sizeof(inner), "%s", k->name);
	else
		snprintf(inner, sizeof(inner), "%s.%s", where, k->name);
	const char **names = key_names(k->sub);
	int rc = wisp_cfg_check_keys(r, inner, names);
	wisp_free(names);
	if (rc < 0 || wisp_cfg_read_keys(r, inner, k->sub, settings) < 0)
		return -1;
	lua_pop(r->L, 1);
	return 0;
}

static int read_value(struct reader *r, const char *where,
	const struct wisp_cfg_key *k, void *settings)
{
	lua_Integer v;
	int got;
	switch (k->kind) {
	case WISP_CFG_INT:
		got = wisp_cfg_integer(r, where, k->name, k->min, k->max, &v);
		if (got == 0)
			store(settings, k, v);
		return got < 0 ? -1 : 0;
	case WISP_CFG_BOOL:
		return wisp_cfg_boolean(r, where, k->name, field(settings, k));
	case WISP_CFG_STRING:
		return wisp_cfg_string(r, where, k->name, field(settings, k));
	case WISP_CFG_TABLE:
		return read_table(r, where, k, settings);
	default:
		return k->read(r, where, k, settings);
	}
}

/* Whether the table on top has key. */
static int present(struct reader *r, const char *key)
{
	int type = lua_getfield(r->L, -1, key);
	lua_pop(r->L, 1);
	return type != LUA_TNIL;
}

/* A key's check runs on a value the config gives, not on its default. */
static int read_key(struct reader *r, const char *where,
	const struct wisp_cfg_key *k, void *settings)
{
	int given = present(r, k->name);
	if (read_value(r, where, k, settings) < 0)
		return -1;
	if (!given || k->kind == WISP_CFG_CUSTOM || k->read == NULL)
		return 0;
	return k->read(r, where, k, settings);
}

int wisp_cfg_read_keys(struct reader *r, const char *where,
	const struct wisp_cfg_key *keys, void *settings)
{
	for (const struct wisp_cfg_key *k = keys; k && k->name; k++)
		if (read_key(r, where, k, settings) < 0)
			return -1;
	return 0;
}

/* ---- the sections of a config ---- */

void wisp_cfg_sections_new(struct wisp_config *cfg)
{
	for (size_t i = 0; i < S.count; i++) {
		const struct wisp_cfg_section *s = S.list[i];
		void *settings = wisp_malloc(s->size);
		memset(settings, 0, s->size);
		wisp_cfg_key_defaults(s->keys, settings);
		if (s->defaults)
			s->defaults(settings);
		cfg->sections[i] = settings;
	}
}

void wisp_cfg_sections_free(struct wisp_config *cfg)
{
	for (size_t i = 0; i < S.count; i++) {
		if (cfg->sections[i] == NULL)
			continue;
		wisp_cfg_key_free(S.list[i]->keys, cfg->sections[i]);
		if (S.list[i]->free)
			S.list[i]->free(cfg->sections[i]);
		wisp_free(cfg->sections[i]);
		cfg->sections[i] = NULL;
	}
}

/* The j-th key section s adds to the top level (or to node tables), or
 * NULL past the last. */
static const char *added(const struct wisp_cfg_section *s, int node,
	size_t j)
{
	if (node)
		return s->node_keys ? s->node_keys[j] : NULL;
	return s->keys ? s->keys[j].name : NULL;
}

/* base, then what each section adds, as one NULL-terminated list for
 * wisp_cfg_check_keys. */
static int check_with(struct reader *r, const char *where,
	const char *const *base, int node)
{
	size_t n = 0, at = 0;
	while (base[n])
		n++;
	for (size_t i = 0; i < S.count; i++)
		for (size_t j = 0; added(S.list[i], node, j); j++)
			n++;
	const char **all = wisp_malloc((n + 1) * sizeof(*all));
	for (; base[at]; at++)
		all[at] = base[at];
	for (size_t i = 0; i < S.count; i++)
		for (size_t j = 0; added(S.list[i], node, j); j++)
			all[at++] = added(S.list[i], node, j);
	all[at] = NULL;
	int rc = wisp_cfg_check_keys(r, where, all);
	wisp_free(all);
	return rc;
}

int wisp_cfg_check_top_keys(struct reader *r, const char *const *base)
{
	return check_with(r, "the config", base, 0);
}

int wisp_cfg_check_node_keys(struct reader *r, const char *where,
	const char *const *base)
{
	return check_with(r, where, base, 1);
}

int wisp_cfg_sections_read(struct reader *r, struct wisp_config *cfg)
{
	for (size_t i = 0; i < S.count; i++)
		if (wisp_cfg_read_keys(r, "the config", S.list[i]->keys,
				cfg->sections[i]) < 0)
			return -1;
	return 0;
}

int wisp_cfg_sections_read_node(struct reader *r, const char *where,
	struct wisp_config *cfg)
{
	for (size_t i = 0; i < S.count; i++)
		if (S.list[i]->read_node
			&& S.list[i]->read_node(r, where, cfg->sections[i]) < 0)
			return -1;
	return 0;
}

void wisp_cfg_sections_check(const struct wisp_config *cfg,
	struct wisp_check *c)
{
	for (size_t i = 0; i < S.count; i++)
		if (S.list[i]->check && cfg->sections[i])
			S.list[i]->check(cfg->sections[i], cfg, c);
}
