-- demo.lua: the demo cluster, five processes on this machine: a root, a
-- net node holding the game clients, two game nodes and a db node. The
-- demo game (services/demo/, README "The demo game") is split across the
-- game nodes, so that its commands cross the harbor: the gate sends
-- logins and moves to game1 (demo.player), which keeps players' rows on
-- the db node and puts them in rooms on game2 (demo.room); chat goes from
-- the gate to game2, and game2 pushes to the clients through the gate.
-- Ports: the harbors at WISP_DEMO_PORT_BASE + 1..5 (7001..7005 unless
-- set), the clients' gate at WISP_GATE_ADDR (127.0.0.1:7100 unless set).
-- The database: WISP_DB_FILE (wisp-demo.db in the current directory).
-- Start each node with: build/wisp conf/demo.lua NODE, in any order, or
-- them all with the master: build/wisp conf/demo.lua
local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "."
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
	env = { demo_room = "room@game2" }, -- where demo.player finds the rooms
	-- the players' rows, cached in process (no memcached)
	db = {
		file = os.getenv("WISP_DB_FILE") or "wisp-demo.db",
		migrations = here .. "/../services/demo/migrations",
	},
	nodes = {
		root = { id = 1, roles = { "root" }, harbor = harbor(1) },
		net = {
			id = 2,
			roles = { "net" },
			harbor = harbor(2),
			gate = {
				listen = os.getenv("WISP_GATE_ADDR") or "127.0.0.1:7100",
				events = "player@game1", -- disconnects take players out
				commands = {
					{ 101, 103, "player@game1" }, -- login, enter, move
					{ 104, "room@game2" },        -- chat
				},
			},
		},
		game1 = { id = 3, roles = { "node" }, harbor = harbor(3),
			services = { "lua demo.player" } },
		game2 = { id = 4, roles = { "node" }, harbor = harbor(4),
			services = { "lua demo.room" } },
		db = { id = 5, roles = { "db" }, harbor = harbor(5) },
	},
}
