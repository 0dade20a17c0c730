-- node.lua: the config the Lua benchmarks run under: one node starting
-- the script named by WISP_BENCH, quiet logs.
local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "."
local bench = assert(os.getenv("WISP_BENCH"), "set WISP_BENCH to a script")

return {
	cluster = "lua-bench",
	lua_path = here .. "/?.lua;" .. here .. "/../../lua/?.lua",
	log_level = "info",
	call_timeout = 60000,
	nodes = {
		bench = { id = 1, services = { "lua " .. bench } },
	},
}
