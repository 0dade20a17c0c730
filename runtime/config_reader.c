/* config_reader.c: reading a config table with checks: every key known,
 * every value of the right type and range, and errors that name the file,
 * the key and where it is. */
#include <lauxlib.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "addr.h"
#include "config_reader.h"
#include "wisp.h"

int wisp_cfg_fail(struct reader *r, const char *fmt, ...)
{
	int n = snprintf(r->err, r->errsz, "%s: ", r->file);
	va_list ap;
	va_start(ap, fmt);
	if (n >= 0 && (size_t)n < r->errsz)
		vsnprintf(r->err + n, r->errsz - (size_t)n, fmt, ap);
	va_end(ap);
	return -1;
}

int wisp_cfg_listed(const char *const *list, const char *s)
{
	for (int i = 0; list[i]; i++)
		if (strcmp(list[i], s) == 0)
			return i;
	return -1;
}

/* The edits (insert, delete, replace a byte) from a to b; keys are short,
 * and longer ones count as far apart. */
static size_t distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), row[64];
	if (la >= 64 || lb >= 64)
		return SIZE_MAX;
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];
		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j], best = diag + (a[i - 1] != b[j - 1]);
			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			diag = up;
			row[j] = best;
		}
	}
	return row[lb];
}

/* The allowed key a typo of key would be: one or two edits away (one for
 * keys of up to five bytes), or NULL. */
static const char *nearest(const char *const *allowed, const char *key)
{
	size_t most = strlen(key) > 5 ? 2 : 1, best = most + 1;
	const char *found = NULL;
	for (int i = 0; allowed[i]; i++) {
		size_t d = distance(key, allowed[i]);
		if (d < best) {
			best = d;
			found = allowed[i];
		}
	}
	return found;
}

/* Every key of the table on top of the stack must be in allowed. */
int wisp_cfg_check_keys(struct reader *r, const char *where,
	const char *const *allowed)
{
	lua_pushnil(r->L);
	while (lua_next(r->L, -2)) {
		lua_pop(r->L, 1);
		if (lua_type(r->L, -1) == LUA_TSTRING
			&& wisp_cfg_listed(allowed, lua_tostring(r->L, -1)) >= 0)
			continue;
		const char *key = luaL_tolstring(r->L, -1, NULL);
		const char *near = lua_type(r->L, -2) == LUA_TSTRING
			? nearest(allowed, key) : NULL;
		if (near)
			return wisp_cfg_fail(r, "unknown key '%s' in %s (did you mean "
				"'%s'?)", key, where, near);
		return wisp_cfg_fail(r, "unknown key '%s' in %s", key, where);
	}
	return 0;
}

/* Pushes t[key] for the table on top; 0 if present, 1 if nil, -1 if of
 * the wrong type (then nothing is pushed). */
int wisp_cfg_field(struct reader *r, const char *where, const char *key,
	int type, const char *type_name)
{
	int t = lua_getfield(r->L, -1, key);
	if (t == LUA_TNIL) {
		lua_pop(r->L, 1);
		return 1;
	}
	if (t != type && !(type == LUA_TSTRING && t == LUA_TNUMBER)) {
		lua_pop(r->L, 1);
		return wisp_cfg_fail(r, "key '%s' in %s must be %s", key, where, type_name);
	}
	return 0;
}

/* t[key] into *out when it is a boolean; left alone when nil. */
int wisp_cfg_boolean(struct reader *r, const char *where, const char *key,
	int *out)
{
	int got = wisp_cfg_field(r, where, key, LUA_TBOOLEAN, "a boolean");
	if (got == 0) {
		*out = lua_toboolean(r->L, -1);
		lua_pop(r->L, 1);
	}
	return got < 0 ? -1 : 0;
}

int wisp_cfg_string(struct reader *r, const char *where, const char *key,
	char **out)
{
	int got = wisp_cfg_field(r, where, key, LUA_TSTRING, "a string");
	if (got != 0)
		return got < 0 ? -1 : 0;
	wisp_free(*out);
	*out = wisp_strdup(lua_tostring(r->L, -1));
	lua_pop(r->L, 1);
	return 0;
}

int wisp_cfg_integer(struct reader *r, const char *where, const char *key,
	lua_Integer min, lua_Integer max, lua_Integer *out)
{
	int got = wisp_cfg_field(r, where, key, LUA_TNUMBER, "an integer");
	if (got != 0)
		return got;
	int ok;
	lua_Integer v = lua_tointegerx(r->L, -1, &ok);
	lua_pop(r->L, 1);
	if (!ok || v < min || v > max)
		return wisp_cfg_fail(r, "key '%s' in %s must be an integer from %lld to %lld",
			key, where, (long long)min, (long long)max);
	*out = v;
	return 0;
}

/* "host:port" into *host and *port, by proto/'s one parser; the host is
 * copied to the start of text, without brackets. */
int wisp_cfg_split_address(char *text, char **host, int *port)
{
	struct wisp_addr a;
	if (wisp_addr_parse(text, 0, &a) != NULL)
		return -1;
	*host = strcpy(text, a.host);
	*port = a.port;
	return 0;
}
