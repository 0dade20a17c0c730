-- node.lua: the config of test_logflood.c: one node logging to stdout,
-- whose flood.lua floods the log in the way WISP_FLOOD names.
local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "."
local flood = assert(os.getenv("WISP_FLOOD"), "set WISP_FLOOD to a flood")

return {
	cluster = "logflood",
	lua_path = here .. "/?.lua",
	log_rate = tonumber(os.getenv("WISP_LOG_RATE")) or 1000,
	stop_timeout = 2000,
	nodes = {
		n = { id = 1, services = { "lua flood " .. flood } },
	},
}
