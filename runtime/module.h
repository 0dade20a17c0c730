/* module.h: finding service modules: registered by the executable (the
 * ones linked into it: services/builtin.c), or NAME.so on the module
 * path, loaded once with dlopen. */
#ifndef WISP_MODULE_H
#define WISP_MODULE_H

#include <stddef.h>
#include "wisp.h"

struct wisp_service_stats;

struct wisp_module {
	const char *name;
	void *(*create)(void);
	int (*init)(void *inst, struct wisp_context *ctx, const char *args);
	void (*release)(void *inst);
	void (*signal)(void *inst, int signal);
	/* Optional: adds to s what only the module knows of inst (what it
	 * runs, its memory now): wisp_service_stats. */
	void (*stats)(void *inst, struct wisp_service_stats *s);
};

/* path: "dir/?.so;other/?.so", each ? standing for the module name. */
void wisp_modules_init(const char *path);
void wisp_modules_exit(void);
/* Makes a module that is linked in findable by name. */
void wisp_module_builtin(const struct wisp_module *m);
/* 1 when a module of that name is linked in (and made findable). */
int wisp_module_builtin_named(const char *name);
/* The module, or NULL with why it could not be had in err. */
const struct wisp_module *wisp_module_find(const char *name, char *err,
	size_t errsz);

/* symbol in the library NAME.so on the module path, loaded at the first
 * call and kept: for code only some nodes need (the db's bindings), so
 * that the others do not map its libraries. NULL with why in err. */
void *wisp_module_symbol(const char *name, const char *symbol, char *err,
	size_t errsz);
/* Finds the first entry of path ("a/?.so;b/?.so") that names an existing
 * file once ? is replaced by name; 0 with it in file, or -1. */
int wisp_path_search(const char *path, const char *name, char *file,
	size_t filesz);

#endif
