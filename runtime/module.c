/* module.c: the module registry. Built-in modules are registered at start;
 * others are dlopen'ed from the first path entry that has them and kept
 * loaded for the life of the node (a service may still run their code). */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "module.h"
#include "names.h"

/* A library of code only some nodes need, loaded on first use. */
struct library {
	struct library *next;
	char *name;
	void *dl;
};

struct loaded {
	struct loaded *next;
	struct wisp_module m;
	void *dl; /* NULL for a built-in */
};

static struct {
	struct loaded *list;
	struct library *libraries;
	char *path;
} M;

void wisp_modules_init(const char *path)
{
	M.path = wisp_strdup(path);
}

void wisp_modules_exit(void)
{
	struct loaded *l = M.list, *next;
	for (; l; l = next) {
		next = l->next;
		if (l->dl) {
			wisp_free((char *)l->m.name);
			dlclose(l->dl);
		}
		wisp_free(l);
	}
	M.list = NULL;
	for (struct library *b = M.libraries, *next; b; b = next) {
		next = b->next;
		dlclose(b->dl);
		wisp_free(b->name);
		wisp_free(b);
	}
	M.libraries = NULL;
	wisp_free(M.path);
	M.path = NULL;
}

static struct loaded *remember(const struct wisp_module *m, void *dl)
{
	struct loaded *l = wisp_malloc(sizeof(*l));
	l->m = *m;
	l->dl = dl;
	l->next = M.list;
	M.list = l;
	return l;
}

void wisp_module_builtin(const struct wisp_module *m)
{
	remember(m, NULL);
}

int wisp_module_builtin_named(const char *name)
{
	for (const struct loaded *l = M.list; l; l = l->next)
		if (l->dl == NULL && strcmp(l->m.name, name) == 0)
			return 1;
	return 0;
}

static void *symbol(void *dl, const char *module, const char *fn)
{
	char name[WISP_NAME_MAX + 16];
	snprintf(name, sizeof(name), "%s_%s", module, fn);
	return dlsym(dl, name);
}

static const struct wisp_module *bind(void *dl, const char *name, char *err,
	size_t errsz)
{
	struct wisp_module m = {
		.name = wisp_strdup(name),
		.create = (void *(*)(void))symbol(dl, name, "create"),
		.init = (int (*)(void *, struct wisp_context *, const char *))
			symbol(dl, name, "init"),
		.release = (void (*)(void *))symbol(dl, name, "release"),
		.signal = (void (*)(void *, int))symbol(dl, name, "signal"),
	};
	if (m.init == NULL) {
		snprintf(err, errsz, "module '%s' has no %s_init", name, name);
		wisp_free((char *)m.name);
		dlclose(dl);
		return NULL;
	}
	return &remember(&m, dl)->m;
}

/* Writes the path entry for name into file; 0 if it fit. */
static int expand(const char *entry, size_t len, const char *name,
	char *file, size_t filesz)
{
	const char *q = memchr(entry, '?', len);
	if (q == NULL)
		return -1;
	int n = snprintf(file, filesz, "%.*s%s%.*s", (int)(q - entry), entry,
		name, (int)(len - (size_t)(q - entry) - 1), q + 1);
	return n > 0 && (size_t)n < filesz ? 0 : -1;
}

int wisp_path_search(const char *path, const char *name, char *file,
	size_t filesz)
{
	for (const char *p = path; p && *p;) {
		size_t len = strcspn(p, ";");
		if (expand(p, len, name, file, filesz) == 0 && access(file, F_OK) == 0)
			return 0;
		p += len + (p[len] == ';');
	}
	return -1;
}

/* dlopen of NAME.so from the module path; NULL with why in err. */
static void *open_on_path(const char *name, char *err, size_t errsz)
{
	char file[4096];
	if (wisp_path_search(M.path, name, file, sizeof(file)) < 0) {
		snprintf(err, errsz, "module '%s' not found on the module path '%s'",
			name, M.path ? M.path : "");
		return NULL;
	}
	void *dl = dlopen(file, RTLD_NOW | RTLD_LOCAL);
	if (dl == NULL)
		snprintf(err, errsz, "%s", dlerror());
	return dl;
}

static const struct wisp_module *load(const char *name, char *err,
	size_t errsz)
{
	void *dl = open_on_path(name, err, errsz);
	return dl ? bind(dl, name, err, errsz) : NULL;
}

static void *library(const char *name, char *err, size_t errsz)
{
	for (struct library *b = M.libraries; b; b = b->next)
		if (strcmp(b->name, name) == 0)
			return b->dl;
	void *dl = open_on_path(name, err, errsz);
	if (dl == NULL)
		return NULL;
	struct library *b = wisp_malloc(sizeof(*b));
	*b = (struct library){ M.libraries, wisp_strdup(name), dl };
	M.libraries = b;
	return dl;
}

void *wisp_module_symbol(const char *name, const char *symbol, char *err,
	size_t errsz)
{
	void *dl = library(name, err, errsz);
	void *at = dl ? dlsym(dl, symbol) : NULL;
	if (dl && at == NULL)
		snprintf(err, errsz, "module '%s' has no %s", name, symbol);
	return at;
}

const struct wisp_module *wisp_module_find(const char *name, char *err,
	size_t errsz)
{
	for (struct loaded *l = M.list; l; l = l->next)
		if (strcmp(l->m.name, name) == 0)
			return &l->m;
	if (!wisp_name_valid(name)) {
		snprintf(err, errsz, "'%s' is not a valid module name", name);
		return NULL;
	}
	return load(name, err, errsz);
}
