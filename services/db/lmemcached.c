/* lmemcached.c: placeholder, being written. */
#include <lauxlib.h>
#include "host.h"

int wisp_lua_open_memcached(lua_State *L)
{
	lua_newtable(L);
	return 1;
}
