-- node.lua: the config every Lua test runs under: one node that starts
-- the script named by WISP_TEST, with short budgets so that tests of
-- timeouts and interruptions run fast.
local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "."
local test = assert(os.getenv("WISP_TEST"), "set WISP_TEST to a test script")

return {
	cluster = "lua-tests",
	lua_path = here .. "/?.lua",
	log_level = os.getenv("WISP_LOG_LEVEL") or "info",
	call_timeout = 2000,
	lua_handler_budget = 300,
	stop_timeout = 2000,
	env = { greeting = "hello" },
	nodes = {
		test = { id = 1, services = { "lua " .. test } },
	},
}
