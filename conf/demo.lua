-- demo.lua: the demo cluster: a root, a net node for clients, two game
-- nodes and a db node, each its own process on this machine. game2 runs
-- a greeter, game1 a visitor that calls it across the nodes
-- (services/demo/); tools/demo.sh runs root, game1 and game2.
-- Clients connect to the net node's gate at base + 100 (7100 by default).
-- Start each node with: build/wisp conf/demo.lua NODE
-- (root first is not required: nodes join the root when it comes).
local base = tonumber(os.getenv("WISP_DEMO_PORT_BASE") or "7000")
local function harbor(n)
	return "127.0.0.1:" .. (base + n)
end

return {
	cluster = "demo",
	secret = os.getenv("WISP_SECRET") or "change-this-demo-secret",
	log_level = "info",
	call_timeout = 5000,
	harbor = { heartbeat = 1000, timeout = 3000 },
	-- the db node's database; rows are cached in process (no memcached)
	db = {
		file = os.getenv("WISP_DB_FILE") or "wisp-demo.db",
		migrations = nil, -- none yet: the demo game will bring them
	},
	nodes = {
		root = { id = 1, roles = { "root" }, harbor = harbor(1) },
		net = { id = 2, roles = { "net" }, harbor = harbor(2),
			gate = { listen = "127.0.0.1:" .. (base + 100) } },
		game1 = { id = 3, roles = { "node" }, harbor = harbor(3),
			services = { "lua demo.visitor" } },
		game2 = { id = 4, roles = { "node" }, harbor = harbor(4),
			services = { "lua demo.greeter" } },
		db = { id = 5, roles = { "db" }, harbor = harbor(5) },
	},
}
