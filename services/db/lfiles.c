/* lfiles.c: `wisp.db.files`, the one thing about files the db service
 * needs that Lua lacks: the names in a directory (its migrations), sorted
 * so that they apply in a stable order. */
#include <dirent.h>
#include <errno.h>
#include <lauxlib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "host.h"

static int compare_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int is_file(const char *dir, const char *name)
{
	char path[4096];
	struct stat st;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* list(dir, suffix): the names of the regular files in dir that end in
 * suffix (default ""), sorted bytewise. Raises when dir cannot be read. */
static int l_list(lua_State *L)
{
	const char *dir = luaL_checkstring(L, 1);
	size_t suffix_len;
	const char *suffix = luaL_optlstring(L, 2, "", &suffix_len);
	DIR *d = opendir(dir);
	if (d == NULL)
		return luaL_error(L, "cannot read the directory %s: %s", dir,
			strerror(errno));
	char **names = NULL;
	size_t n = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		size_t len = strlen(e->d_name);
		if (e->d_name[0] == '.' || len < suffix_len
			|| strcmp(e->d_name + len - suffix_len, suffix) != 0
			|| !is_file(dir, e->d_name))
			continue;
		names = wisp_realloc(names, (n + 1) * sizeof(*names));
		names[n++] = wisp_strdup(e->d_name);
	}
	closedir(d);
	if (n > 0) /* names is NULL then, which qsort may not be given */
		qsort(names, n, sizeof(*names), compare_names);
	lua_createtable(L, (int)n, 0);
	for (size_t i = 0; i < n; i++) {
		lua_pushstring(L, names[i]);
		lua_rawseti(L, -2, (lua_Integer)i + 1);
		wisp_free(names[i]);
	}
	wisp_free(names);
	return 1;
}

int wisp_lua_open_db_files(lua_State *L)
{
	static const luaL_Reg funcs[] = { { "list", l_list }, { NULL, NULL } };
	luaL_newlib(L, funcs);
	return 1;
}
