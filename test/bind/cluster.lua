-- cluster.lua: the config of test_bind.c: a root, a net node holding the
-- clients and two game nodes. The net node's gate routes every command to
-- the login service on game1, which is gate.events too; a client that
-- logs in is bound to an agent the login service starts on game2, so that
-- its frames go there with no hop through game1.
-- Ports come from WISP_PORT_BASE: the harbors of root, net, game1 and
-- game2, then the gate's for the clients.
local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "."
local base = assert(tonumber(os.getenv("WISP_PORT_BASE")),
	"set WISP_PORT_BASE to the first of five free ports")

local function address(offset)
	return "127.0.0.1:" .. (base + offset)
end

return {
	cluster = "bind-tests",
	lua_path = here .. "/?.lua",
	log_level = "info",
	log_rate = 0, -- the test counts log lines: none may be held back
	call_timeout = 10000,
	stop_timeout = 2000,
	secret = os.getenv("WISP_SECRET") or error("set WISP_SECRET to the "
		.. "cluster secret (wisp --new-secret makes one)"),
	harbor = { heartbeat = 250, timeout = 1500 },
	gate = { magic = "WBND", version = 1, server_version = 1,
		max_body = 4096 },
	nodes = {
		root = { id = 1, roles = { "root" }, harbor = address(0) },
		net = {
			id = 2,
			roles = { "net" },
			harbor = address(1),
			gate = {
				listen = address(4),
				max_connections = 2000,
				max_per_address = 0,
				events = "login@game1",
				commands = { { 1, 99, "login@game1" } },
			},
		},
		game1 = { id = 3, harbor = address(2),
			services = { "lua login" } },
		game2 = { id = 4, harbor = address(3), services = { "lua spawner" } },
	},
}
