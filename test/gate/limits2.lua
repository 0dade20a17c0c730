-- limits2.lua: the net nodes of test_gate_limits.c, each a gate in front
-- of front.lua. "deadlines": short frame and first-frame deadlines, an
-- idle timeout between them, and 4 clients an address. "budget": 4 MiB
-- for unfinished frames, room for 2,000 clients from one address, and
-- deadlines long enough that only the budget closes them. The test picks
-- each node's port: WISP_GATE_PORT.
local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "."
local port = assert(os.getenv("WISP_GATE_PORT"), "set WISP_GATE_PORT")

return {
	cluster = "gate-limits2-test",
	lua_path = here .. "/?.lua",
	gate = {
		magic = "GAME",
		version = 3,
		server_version = 7,
		events = "front",
		commands = { { 1, 20, "front" } },
	},
	nodes = {
		deadlines = {
			id = 1,
			roles = { "net" },
			services = { "lua front verbose" },
			gate = {
				listen = "127.0.0.1:" .. port,
				idle_timeout = 3000,
				frame_timeout = 5000,
				first_frame_timeout = 1000,
				max_per_address = 4,
			},
		},
		budget = {
			id = 2,
			roles = { "net" },
			services = { "lua front verbose" },
			gate = {
				listen = "127.0.0.1:" .. port,
				max_connections = 2000,
				max_per_address = 0,
				partial_budget = 4194304,
				frame_timeout = 120000,
				first_frame_timeout = 120000,
			},
		},
	},
}
