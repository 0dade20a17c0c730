/* lsocket.c: `wisp.socket.core`, the socket calls of a Lua service. They
 * return at once; events come back as "socket" messages, which the Lua
 * module wisp.socket turns into calls that wait. */
#include <errno.h>
#include <lauxlib.h>
#include <string.h>
#include "host.h"
#include "socket.h"

static int fail(lua_State *L)
{
	lua_pushnil(L);
	lua_pushstring(L, strerror(errno));
	return 2;
}

static int id_or_fail(lua_State *L, int id)
{
	if (id < 0)
		return fail(L);
	lua_pushinteger(L, id);
	return 1;
}

static wisp_handle self(lua_State *L)
{
	return wisp_self(wisp_lua_task(L)->host->ctx);
}

static int l_listen(lua_State *L)
{
	const char *host = luaL_checkstring(L, 1);
	int port = (int)luaL_checkinteger(L, 2);
	int backlog = (int)luaL_optinteger(L, 3, 128);
	return id_or_fail(L, wisp_net_listen(self(L), host, port, backlog));
}

static int l_connect(lua_State *L)
{
	const char *host = luaL_checkstring(L, 1);
	int port = (int)luaL_checkinteger(L, 2);
	return id_or_fail(L, wisp_net_connect(self(L), host, port));
}

static int l_start(lua_State *L)
{
	int id = (int)luaL_checkinteger(L, 1);
	if (wisp_net_start(self(L), id) < 0)
		return fail(L);
	lua_pushboolean(L, 1);
	return 1;
}

static int l_write(lua_State *L)
{
	size_t sz;
	int id = (int)luaL_checkinteger(L, 1);
	const char *data = luaL_checklstring(L, 2, &sz);
	if (wisp_net_write(id, data, sz) < 0)
		return fail(L);
	lua_pushboolean(L, 1);
	return 1;
}

static int l_close(lua_State *L)
{
	wisp_net_close((int)luaL_checkinteger(L, 1));
	return 0;
}

static int l_port(lua_State *L)
{
	return id_or_fail(L, wisp_net_port((int)luaL_checkinteger(L, 1)));
}

int wisp_lua_open_socket(lua_State *L)
{
	static const luaL_Reg funcs[] = {
		{ "listen", l_listen }, { "connect", l_connect }, { "start", l_start },
		{ "write", l_write }, { "close", l_close }, { "port", l_port },
		{ NULL, NULL },
	};
	luaL_newlib(L, funcs);
	lua_pushinteger(L, WISP_SOCKET_DATA);
	lua_setfield(L, -2, "DATA");
	lua_pushinteger(L, WISP_SOCKET_ACCEPT);
	lua_setfield(L, -2, "ACCEPT");
	lua_pushinteger(L, WISP_SOCKET_CONNECT);
	lua_setfield(L, -2, "CONNECT");
	lua_pushinteger(L, WISP_SOCKET_CLOSE);
	lua_setfield(L, -2, "CLOSE");
	lua_pushinteger(L, WISP_SOCKET_ERROR);
	lua_setfield(L, -2, "ERROR");
	return 1;
}
