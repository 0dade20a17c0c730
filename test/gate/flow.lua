-- flow.lua: the net node of test_gate_flow.c: a gate in front of
-- flow_front.lua that lets a client have 4 commands in flight (its
-- commands are not ordered, so that they can be) and gives each 1.5 s to
-- be answered; command 10 is routed to a service that does not exist.
-- Failed commands are not told to the client (no error frames): the test
-- checks that each frees its slot all the same. The test picks the port:
-- WISP_GATE_PORT.
local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "."
local port = assert(os.getenv("WISP_GATE_PORT"), "set WISP_GATE_PORT")

return {
	cluster = "gate-flow-test",
	lua_path = here .. "/?.lua",
	nodes = {
		main = {
			id = 1,
			roles = { "net" },
			services = { "lua flow_front" },
			gate = {
				listen = "127.0.0.1:" .. port,
				max_inflight = 4,
				reply_timeout = 1500,
				error_command = false,
				commands = { { 1, 9, "flow_front", ordered = false },
					{ 10, "nosuch" } },
			},
		},
	},
}
