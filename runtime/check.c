/* check.c: the whole-cluster check of `wisp --check CONFIG` (check.h).
 * Each node's config is looked at as it is read (its scripts and modules
 * on its paths; what its sections listen on and name); what needs every
 * node (a name on another node, a port twice on one host) is kept and
 * settled at the end. A script "registers" a name when its text, or that
 * of a module it requires, holds the name quoted: names are almost always
 * given as literals, and a check that runs no code can do no better. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "config.h"
#include "config_reader.h"
#include "module.h"
#include "node.h"
#include "wire.h"
#include "wisp.h"

#define SCRIPT_MAX (1 << 20) /* bytes of a script looked at */
#define SCRIPT_NAME_MAX 255  /* "dir.module" of a script or a require */
#define TEXT_MAX 512

struct node_info {
	char *name;
	char *host;       /* harbor host, or NULL */
	char *text;       /* its scripts and their modules, one after another */
	char *modules;    /* its C modules, each between spaces */
};

struct listen_info {
	char *node, *what, *host;
	int port;
};

struct ref_info {
	char *node, *what, *name, *target; /* target: its node, or NULL */
};

struct wisp_check {
	struct node_info *nodes;
	size_t node_count;
	struct listen_info *listens;
	size_t listen_count;
	struct ref_info *refs;
	size_t ref_count;
	const char *node; /* being checked */
	size_t mistakes;
};

struct wisp_check *wisp_check_new(void)
{
	struct wisp_check *c = wisp_malloc(sizeof(*c));
	memset(c, 0, sizeof(*c));
	wisp_modules_init(""); /* the built-in ones only: nothing is loaded */
	wisp_node_register_modules();
	return c;
}

void wisp_check_fail(struct wisp_check *c, const char *fmt, ...)
{
	char text[TEXT_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	fprintf(stderr, "wisp: node %s: %s\n", c->node, text);
	c->mistakes++;
}

#define GROW(array, count) \
	((array) = wisp_realloc((array), ((count) + 1) * sizeof(*(array))), \
	&(array)[(count)++])

/* package.searchpath's way: the dots of name are directories. */
static int lua_search(const char *path, const char *name, char *file,
	size_t size)
{
	char dirs[SCRIPT_NAME_MAX + 1];
	snprintf(dirs, sizeof(dirs), "%s", name);
	for (char *d = dirs; *d; d++)
		if (*d == '.')
			*d = '/';
	return wisp_path_search(path, dirs, file, size);
}

/* Appends the file's text (bounded) to *text. */
static void add_text(char **text, const char *file)
{
	FILE *f = fopen(file, "r");
	if (f == NULL)
		return;
	size_t len = *text ? strlen(*text) : 0;
	*text = wisp_realloc(*text, len + SCRIPT_MAX + 2);
	size_t got = fread(*text + len, 1, SCRIPT_MAX, f);
	fclose(f);
	(*text)[len + got] = '\n';
	(*text)[len + got + 1] = '\0';
}

/* The modules a script requires by a literal name, found on path, added
 * to text: where a service's register call often is. */
static void add_required(char **text, size_t from, const char *path)
{
	char *required = wisp_strdup(*text + from);
	for (char *at = strstr(required, "require"); at;
			at = strstr(at + 1, "require")) {
		char *q = at + 7;
		q += strspn(q, " (");
		if (*q != '"' && *q != '\'')
			continue;
		size_t len = strcspn(q + 1, "\"'\n");
		char name[SCRIPT_NAME_MAX + 1], file[4096];
		if (len == 0 || len > SCRIPT_NAME_MAX)
			continue;
		memcpy(name, q + 1, len);
		name[len] = '\0';
		if (lua_search(path, name, file, sizeof(file)) == 0)
			add_text(text, file);
	}
	wisp_free(required);
}

/* A Lua service's script, or a module, found where the node would. */
static void check_service(struct wisp_check *c, struct node_info *n,
	const struct wisp_service_spec *s, const char *lua_path,
	const char *module_path)
{
	char file[4096], script[SCRIPT_NAME_MAX + 1];
	if (strcmp(s->module, "lua") != 0) {
		if (!wisp_module_builtin_named(s->module)
				&& wisp_path_search(module_path, s->module, file,
					sizeof(file)) < 0)
			wisp_check_fail(c, "module '%s' is not built in and not on the "
				"module path '%s'", s->module, module_path);
		size_t len = strlen(n->modules);
		n->modules = wisp_realloc(n->modules, len + strlen(s->module) + 2);
		sprintf(n->modules + len, "%s ", s->module);
		return;
	}
	size_t len = s->args ? strcspn(s->args, " \t") : 0;
	if (len == 0 || len > SCRIPT_NAME_MAX) {
		wisp_check_fail(c, "a lua service needs a script name");
		return;
	}
	memcpy(script, s->args, len);
	script[len] = '\0';
	if (lua_search(lua_path, script, file, sizeof(file)) < 0) {
		wisp_check_fail(c, "script '%s' is not on the lua path '%s'", script,
			lua_path);
		return;
	}
	size_t from = n->text ? strlen(n->text) : 0;
	add_text(&n->text, file);
	add_required(&n->text, from, lua_path);
}

void wisp_check_node(struct wisp_check *c, const char *node,
	const struct wisp_config *cfg)
{
	c->node = node;
	struct node_info *n = GROW(c->nodes, c->node_count);
	memset(n, 0, sizeof(*n));
	n->name = wisp_strdup(node);
	n->modules = wisp_strdup(" ");
	const struct wisp_peer *self = wisp_config_peer(cfg, node);
	if (self && self->host) {
		n->host = wisp_strdup(self->host);
		wisp_check_listen(c, "harbor", wisp_peer_listen_host(self),
			wisp_peer_listen_port(self));
	}
	char lua_path[4096], module_path[4096];
	wisp_lua_path(cfg, lua_path, sizeof(lua_path));
	wisp_module_path(cfg, module_path, sizeof(module_path));
	for (size_t i = 0; i < cfg->service_count; i++)
		check_service(c, n, &cfg->services[i], lua_path, module_path);
	wisp_cfg_sections_check(cfg, c);
}

void wisp_check_listen(struct wisp_check *c, const char *what,
	const char *host, int port)
{
	struct listen_info *l = GROW(c->listens, c->listen_count);
	l->node = wisp_strdup(c->node);
	l->what = wisp_strdup(what);
	l->host = wisp_strdup(host ? host : "");
	l->port = port;
}

void wisp_check_service(struct wisp_check *c, const struct wisp_config *cfg,
	const char *what, const char *target)
{
	const char *at = strchr(target, '@');
	struct ref_info *r = GROW(c->refs, c->ref_count);
	r->node = wisp_strdup(c->node);
	r->what = wisp_strdup(what);
	r->name = wisp_strdup(target);
	r->target = NULL;
	if (at == NULL)
		return;
	r->name[at - target] = '\0';
	r->target = wisp_strdup(at + 1);
	if (wisp_config_peer(cfg, at + 1) == NULL) {
		wisp_check_fail(c, "%s names %s, but the config has no node %s",
			what, target, at + 1);
		wisp_free(r->target);
		r->target = NULL;
		r->name[0] = '\0'; /* told once */
	}
}

/* ---- across nodes ---- */

static struct node_info *find_node(struct wisp_check *c, const char *name)
{
	for (size_t i = 0; i < c->node_count; i++)
		if (strcmp(c->nodes[i].name, name) == 0)
			return &c->nodes[i];
	return NULL;
}

/* A C module of that name, or the name quoted in its scripts' text. */
static int registers(const struct node_info *n, const char *name)
{
	char quoted[WISP_NAME_MAX + 3];
	snprintf(quoted, sizeof(quoted), " %s ", name);
	if (strstr(n->modules, quoted))
		return 1;
	if (n->text == NULL)
		return 0;
	snprintf(quoted, sizeof(quoted), "\"%s\"", name);
	if (strstr(n->text, quoted))
		return 1;
	snprintf(quoted, sizeof(quoted), "'%s'", name);
	return strstr(n->text, quoted) != NULL;
}

static void check_ref(struct wisp_check *c, const struct ref_info *r)
{
	if (r->name[0] == '\0')
		return;
	c->node = r->node;
	if (r->target) {
		struct node_info *n = find_node(c, r->target);
		if (n && !registers(n, r->name))
			wisp_check_fail(c, "%s names %s@%s, but no service of node %s "
				"registers '%s' (no module of that name, and none of its "
				"scripts or the modules they require holds it quoted)",
				r->what, r->name, r->target, r->target, r->name);
		return;
	}
	for (size_t i = 0; i < c->node_count; i++)
		if (registers(&c->nodes[i], r->name))
			return;
	wisp_check_fail(c, "%s names %s, but no service of any node registers "
		"it (no module of that name, and no script or module it requires "
		"holds it quoted)", r->what, r->name);
}

static int wildcard(const char *host)
{
	return host[0] == '\0' || strcmp(host, "0.0.0.0") == 0
		|| strcmp(host, "::") == 0 || strcmp(host, "*") == 0;
}

/* Two listeners that cannot both bind: one port, and one address, or a
 * wildcard on a host the other node shares (by harbor address). */
static int collide(struct wisp_check *c, const struct listen_info *a,
	const struct listen_info *b)
{
	if (a->port != b->port || a->port == 0)
		return 0;
	if (strcmp(a->host, b->host) == 0)
		return 1;
	if (!wildcard(a->host) && !wildcard(b->host))
		return 0;
	const struct node_info *x = find_node(c, a->node);
	const struct node_info *y = find_node(c, b->node);
	return x == y || (x && y && x->host && y->host
		&& strcmp(x->host, y->host) == 0);
}

static void check_ports(struct wisp_check *c)
{
	for (size_t i = 0; i < c->listen_count; i++)
		for (size_t j = 0; j < i; j++) {
			const struct listen_info *a = &c->listens[i], *b = &c->listens[j];
			if (!collide(c, a, b))
				continue;
			c->node = a->node;
			wisp_check_fail(c, "%s %s:%d is the port of %s of node %s too",
				a->what, a->host, a->port, b->what, b->node);
			break;
		}
}

static void release(struct wisp_check *c)
{
	for (size_t i = 0; i < c->node_count; i++) {
		wisp_free(c->nodes[i].name);
		wisp_free(c->nodes[i].host);
		wisp_free(c->nodes[i].text);
		wisp_free(c->nodes[i].modules);
	}
	for (size_t i = 0; i < c->listen_count; i++) {
		wisp_free(c->listens[i].node);
		wisp_free(c->listens[i].what);
		wisp_free(c->listens[i].host);
	}
	for (size_t i = 0; i < c->ref_count; i++) {
		wisp_free(c->refs[i].node);
		wisp_free(c->refs[i].what);
		wisp_free(c->refs[i].name);
		wisp_free(c->refs[i].target);
	}
	wisp_free(c->nodes);
	wisp_free(c->listens);
	wisp_free(c->refs);
	wisp_free(c);
}

size_t wisp_check_finish(struct wisp_check *c, int whole)
{
	for (size_t i = 0; whole && i < c->ref_count; i++)
		check_ref(c, &c->refs[i]);
	if (whole)
		check_ports(c);
	size_t mistakes = c->mistakes;
	release(c);
	wisp_modules_exit();
	return mistakes;
}
