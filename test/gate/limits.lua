-- limits.lua: the net node of test_gate.c's limits: few connections, a
-- short idle timeout and a rate limit. The protocol comes from the
-- top-level gate table, the limits from the node's own over it. The test
-- picks the port: WISP_GATE_PORT.
local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "."
local port = assert(os.getenv("WISP_GATE_PORT"), "set WISP_GATE_PORT")

return {
	cluster = "gate-limits-test",
	lua_path = here .. "/?.lua",
	gate = {
		magic = "GAME",
		version = 3,
		server_version = 7,
		max_connections = 100,
		events = "front",
		commands = { { 1, 20, "front" } },
	},
	nodes = {
		limits = {
			id = 1,
			roles = { "net" },
			services = { "lua front verbose" },
			gate = {
				listen = "127.0.0.1:" .. port,
				max_connections = 3,
				idle_timeout = 400,
				rate_limit = 100,
				rate_burst = 20,
			},
		},
	},
}
