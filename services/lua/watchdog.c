/* watchdog.c: interrupts a Lua handler that runs past its budget. A count
 * hook checked on every instruction would slow every handler down (Lua
 * runs hooked code instruction by instruction), so instead an interval
 * timer on the process's CPU time ticks SIGVTALRM (never while the node
 * sleeps), and once the same resume has lasted past its budget the signal
 * handler sets a hook on the running coroutine (lua_sethook may be called
 * from a signal handler). The hook raises an error at the next instruction
 * and again at every one after, so a pcall in a loop cannot swallow it. */
#include <lauxlib.h>
#include <signal.h>
#include <sys/time.h>
#include "host.h"

#define TICK_MS 20

static volatile sig_atomic_t ticks;
static lua_State *volatile running;
static volatile sig_atomic_t started_at, budget_ticks;
static uint32_t budget_ms;

static void overrun(lua_State *L, lua_Debug *ar)
{
	(void)ar;
	luaL_error(L, "handler ran longer than %d ms and was interrupted",
		(int)budget_ms);
}

static void on_tick(int sig)
{
	(void)sig;
	ticks++;
	lua_State *L = running;
	if (L && ticks - started_at > budget_ticks)
		lua_sethook(L, overrun, LUA_MASKCOUNT, 1);
}

static void start_ticking(void)
{
	struct sigaction sa = { .sa_handler = on_tick, .sa_flags = SA_RESTART };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGVTALRM, &sa, NULL);
	struct itimerval every = {
		.it_interval = { 0, TICK_MS * 1000 },
		.it_value = { 0, TICK_MS * 1000 },
	};
	setitimer(ITIMER_VIRTUAL, &every, NULL);
}

void wisp_watchdog_begin(lua_State *co, uint32_t ms)
{
	static int ticking;
	if (!ticking) {
		start_ticking();
		ticking = 1;
	}
	if (lua_gethook(co)) /* set just as the last run ended */
		lua_sethook(co, NULL, 0, 0);
	budget_ms = ms;
	budget_ticks = (sig_atomic_t)(ms / TICK_MS ? ms / TICK_MS : 1);
	started_at = ticks;
	running = co;
}

void wisp_watchdog_end(lua_State *co)
{
	running = NULL;
	if (lua_gethook(co))
		lua_sethook(co, NULL, 0, 0);
}
