-- gate.lua: the net node of test_gate.c: a gate in front of front.lua,
-- with its own magic and versions, a small max_body (so that a frame over
-- it is cheap to send) and room for 10,000 clients, all from 127.0.0.1
-- and connected a while before they speak. The test picks the port:
-- WISP_GATE_PORT.
local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "."
local port = assert(os.getenv("WISP_GATE_PORT"), "set WISP_GATE_PORT")

return {
	cluster = "gate-test",
	lua_path = here .. "/?.lua",
	nodes = {
		main = {
			id = 1,
			roles = { "net" },
			services = { "lua front" },
			gate = {
				listen = "127.0.0.1:" .. port,
				magic = "GAME",
				version = 3,
				server_version = 7,
				max_body = 4096,
				max_connections = 10000,
				max_per_address = 0,
				first_frame_timeout = 0,
				output_limit = 262144,
				events = "front",
				commands = { { 1, 20, "front" } },
			},
		},
	},
}
