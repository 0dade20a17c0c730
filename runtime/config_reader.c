/* config_reader.c: reading a config table with checks: every key known,
 * every value of the right type and range, and errors that name the file,
 * the key and where it is. */
#include <lauxlib.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

/* Every key of the table on top of the stack must be in allowed. */
int wisp_cfg_check_keys(struct reader *r, const char *where,
	const char *const *allowed)
{
	lua_pushnil(r->L);
	while (lua_next(r->L, -2)) {
		lua_pop(r->L, 1);
		if (lua_type(r->L, -1) != LUA_TSTRING
			|| wisp_cfg_listed(allowed, lua_tostring(r->L, -1)) < 0) {
			const char *key = luaL_tolstring(r->L, -1, NULL);
			return wisp_cfg_fail(r, "unknown key '%s' in %s", key, where);
		}
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

/* "host:port" into *host and *port: the last colon splits, "[v6]:port"
 * loses its brackets; the port is 1 to 65535 in decimal digits only. */
int wisp_cfg_split_address(char *text, char **host, int *port)
{
	char *colon = strrchr(text, ':');
	if (colon == NULL || colon == text)
		return -1;
	size_t digits = strspn(colon + 1, "0123456789");
	long n = strtol(colon + 1, NULL, 10);
	if (digits == 0 || digits > 5 || colon[1 + digits] != '\0' || n < 1
		|| n > 65535)
		return -1;
	*colon = '\0';
	if (text[0] == '[' && colon[-1] == ']') {
		colon[-1] = '\0';
		memmove(text, text + 1, strlen(text));
	}
	if (text[0] == '\0')
		return -1;
	*host = text;
	*port = (int)n;
	return 0;
}
