-- agents.lua: the config of the gate_agent_echo benchmark (test/bench/
-- bench_gate.c): a root, a net node holding the clients and two game
-- nodes with 500 agents each. Each client is bound, as it connects, to an
-- agent on game1 or game2 in turn (agent_front.lua, gate.events), so its
-- frames go from the gate to its agent with no hop through the front.
-- Ports come from WISP_PORT_BASE: the harbors of root, net, game1 and
-- game2, then the gate's for the clients.
local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "."
local base = assert(tonumber(os.getenv("WISP_PORT_BASE")),
	"set WISP_PORT_BASE to the first of five free ports")

local function address(offset)
	return "127.0.0.1:" .. (base + offset)
end

return {
	cluster = "agent-bench",
	lua_path = here .. "/?.lua",
	log_level = "info",
	secret = os.getenv("WISP_SECRET") or error("set WISP_SECRET to the "
		.. "cluster secret (wisp --new-secret makes one)"),
	nodes = {
		root = { id = 1, roles = { "root" }, harbor = address(0) },
		net = {
			id = 2,
			roles = { "net" },
			harbor = address(1),
			gate = {
				listen = address(4),
				max_connections = 2000,
				idle_timeout = 0,
				first_frame_timeout = 0,
				max_per_address = 0,
				events = "front@game1",
				-- echoes need no order: each client keeps 8 in flight
				commands = { { 1, "front@game1", ordered = false } },
			},
		},
		game1 = { id = 3, harbor = address(2),
			services = { "lua agent_pool", "lua agent_front" } },
		game2 = { id = 4, harbor = address(3), services = { "lua agent_pool" } },
	},
}
