-- cluster.lua: the config of test_gate_cluster.c: a root, a net node
-- holding the clients and a game node serving them, each its own process
-- on loopback. The net node's gate routes commands 1000..1099 to the room
-- and 1100 and the clients' connects and disconnects to the lobby, both
-- on the game node. Ports come from WISP_PORT_BASE: the root's harbor at
-- the base, then net's, game's, and the gate's for the clients.
local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "."
local base = assert(tonumber(os.getenv("WISP_PORT_BASE")),
	"set WISP_PORT_BASE to the first of four free ports")

local function address(offset)
	return "127.0.0.1:" .. (base + offset)
end

return {
	cluster = "gate-cluster-tests",
	lua_path = here .. "/?.lua",
	log_level = "info",
	call_timeout = 10000,
	stop_timeout = 2000,
	secret = os.getenv("WISP_SECRET") or error("set WISP_SECRET to the "
		.. "cluster secret (wisp --new-secret makes one)"),
	harbor = { heartbeat = 250, timeout = 1500 },
	-- the client protocol, for every node: the game node checks the
	-- bodies it pushes against max_body
	gate = { magic = "WGCT", version = 2, server_version = 7,
		max_body = 4096 },
	nodes = {
		root = { id = 1, roles = { "root" }, harbor = address(0) },
		net = {
			id = 2,
			roles = { "net" },
			harbor = address(1),
			gate = {
				listen = address(3),
				events = "lobby@game",
				commands = { { 1000, 1099, "room@game" },
					{ 1100, "lobby@game" } },
			},
		},
		game = { id = 3, harbor = address(2),
			services = { "lua lobby", "lua room" } },
	},
}
