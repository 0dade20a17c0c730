-- watchdog.lua: the config of the watchdog test (test_watchdog.c), run
-- whole by the master. Node stall runs the C service stall (a module
-- built for the test, found in WISP_TEST_MODULES) on port WISP_PORT; node
-- busy runs busy.lua, busy all the time but healthy. The watchdog is
-- short (1 s) and handler_warn 200 ms, so that the test sees both soon.
local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "."
local port = assert(tonumber(os.getenv("WISP_PORT")), "set WISP_PORT")
local modules = assert(os.getenv("WISP_TEST_MODULES"),
	"set WISP_TEST_MODULES to the directory of stall.so")

return {
	cluster = "watchdog-test",
	module_path = modules .. "/?.so",
	lua_path = here .. "/?.lua",
	log_level = "info",
	watchdog = 1000,
	handler_warn = 200,
	lua_handler_budget = 100,
	stop_timeout = 2000,
	nodes = {
		stall = { id = 1, services = { "stall 127.0.0.1:" .. port } },
		busy = { id = 2, services = { "lua busy" } },
	},
}
