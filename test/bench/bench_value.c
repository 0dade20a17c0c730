/* bench_value.c: packs and unpacks a small typical Lua message, "ping",
 * 12345, {x = 1.5, y = 2}, and reports messages per second each way. */
#include <lauxlib.h>
#include <stdio.h>
#include <time.h>
#include "wisp.h"
#include "value.h"

#define ROUNDS 1000000

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int main(void)
{
	lua_State *L = luaL_newstate();
	if (luaL_dostring(L, "return 'ping', 12345, {x = 1.5, y = 2}")) {
		fprintf(stderr, "%s\n", lua_tostring(L, -1));
		return 1;
	}
	int n = lua_gettop(L);
	size_t sz;
	double start = now();
	for (int i = 0; i < ROUNDS; i++)
		wisp_free(wisp_value_pack(L, 1, n, &sz));
	double packed = now();
	void *msg = wisp_value_pack(L, 1, n, &sz);
	double unpack_start = now();
	for (int i = 0; i < ROUNDS; i++) {
		wisp_value_unpack(L, msg, sz);
		lua_settop(L, n);
	}
	double unpacked = now();
	wisp_free(msg);
	printf("BENCH value_pack %.0f msg/s\n", ROUNDS / (packed - start));
	printf("BENCH value_unpack %.0f msg/s\n", ROUNDS / (unpacked - unpack_start));
	lua_close(L);
	return 0;
}
