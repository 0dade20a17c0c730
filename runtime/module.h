/* module.h: finding service modules: built into the executable, or
 * NAME.so on the module path, loaded once with dlopen. */
#ifndef WISP_MODULE_H
#define WISP_MODULE_H

#include <stddef.h>
#include "wisp.h"

struct wisp_module {
	const char *name;
	void *(*create)(void);
	int (*init)(void *inst, struct wisp_context *ctx, const char *args);
	void (*release)(void *inst);
	void (*signal)(void *inst, int signal);
};

/* path: "dir/?.so;other/?.so", each ? standing for the module name. */
void wisp_modules_init(const char *path);
void wisp_modules_exit(void);
/* Makes a module that is linked in findable by name. */
void wisp_module_builtin(const struct wisp_module *m);
/* The module, or NULL with why it could not be had in err. */
const struct wisp_module *wisp_module_find(const char *name, char *err,
	size_t errsz);

/* The modules linked into the executable. */
extern const struct wisp_module wisp_logger_module; /* services/logger.c */
extern const struct wisp_module wisp_lua_module;    /* services/lua/host.c */
extern const struct wisp_module wisp_harbor_module; /* services/harbor/ */
extern const struct wisp_module wisp_gate_module;   /* services/gate/ */

/* Finds the first entry of path ("a/?.so;b/?.so") that names an existing
 * file once ? is replaced by name; 0 with it in file, or -1. */
int wisp_path_search(const char *path, const char *name, char *file,
	size_t filesz);

#endif
