-- packed.lua: the config of the packed test (test_packed.c): one node
-- running the C service forger (a module built for the test, found in
-- WISP_TEST_MODULES) and the Lua service target.
local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "."
local modules = assert(os.getenv("WISP_TEST_MODULES"),
	"set WISP_TEST_MODULES to the directory of forger.so")

return {
	cluster = "packed-test",
	module_path = modules .. "/?.so",
	lua_path = here .. "/?.lua",
	log_level = "info",
	stop_timeout = 2000,
	nodes = {
		packed = { id = 1, services = { "forger", "lua target" } },
	},
}
