-- demo.lua: the demo cluster, the scale-out example: a root, a net node
-- holding the game clients, a lobby node, a db node and game nodes
-- (game1..game3, WISP_DEMO_GAMES of them) where the players' agents run,
-- all on this machine. The demo game (services/demo/, README "The demo
-- game"): the gate sends logins (101) to demo.login on the lobby, which
-- starts each player's agent (demo.agent) on the game node picked for
-- the account and binds the client to it, so that the client's enters
-- and moves (102, 103) go from the gate straight to its agent; an agent
-- keeps its player's row on the db node and puts the player in a room
-- held by demo.room on the lobby. Chat (104) goes from the gate to the
-- rooms, which push to the clients through the gate. A game node that
-- dies takes only its players' agents: they log in again and land on the
-- game nodes still up, with their saved rows.
-- Ports: the harbors at WISP_DEMO_PORT_BASE + each node's id (7001..7007
-- unless set), the clients' gate at WISP_GATE_ADDR (127.0.0.1:7100 unless
-- set) and its WebSocket listener (the browser demo, tools/web-demo) at
-- WISP_WS_ADDR (127.0.0.1:7180 when neither is set; none when only
-- WISP_GATE_ADDR is, so that clusters on moved ports do not share it).
-- The database: WISP_DB_FILE (wisp-demo.db in the current
-- directory). The cluster secret: WISP_SECRET, required (tools/demo.sh
-- makes a fresh one per run; `wisp --new-secret` prints one).
-- Start each node with: build/wisp conf/demo.lua NODE, in any order, or
-- them all with the master: build/wisp conf/demo.lua
local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "."
local base = tonumber(os.getenv("WISP_DEMO_PORT_BASE") or "7000")
local games = tonumber(os.getenv("WISP_DEMO_GAMES") or "3")

local function harbor(id)
	return "127.0.0.1:" .. (base + id)
end

local nodes = {
	root = { id = 1, roles = { "root" }, harbor = harbor(1) },
	net = {
		id = 2,
		roles = { "net" },
		harbor = harbor(2),
		gate = {
			listen = os.getenv("WISP_GATE_ADDR") or "127.0.0.1:7100",
			ws_listen = os.getenv("WISP_WS_ADDR")
				or (not os.getenv("WISP_GATE_ADDR") and "127.0.0.1:7180" or nil),
			-- TLS on both when WISP_GATE_CERT and WISP_GATE_KEY name PEM files
			tls = os.getenv("WISP_GATE_CERT") and {
				cert = os.getenv("WISP_GATE_CERT"),
				key = os.getenv("WISP_GATE_KEY"),
			} or nil,
			max_per_address = tonumber(os.getenv("WISP_GATE_PER_ADDRESS")),
			events = "login@lobby", -- disconnects end logins and agents
			commands = {
				-- login; enter and move until a login binds them to the
				-- client's agent (and again if its game node dies)
				{ 101, 103, "login@lobby" },
				{ 104, "room@lobby" },       -- chat
			},
		},
	},
	lobby = { id = 3, roles = { "node" }, harbor = harbor(3),
		services = { "lua demo.room", "lua demo.login" } },
	db = { id = 4, roles = { "db" }, harbor = harbor(4) },
}
local names = {}
for i = 1, games do -- no services of their own: the logins start agents
	names[i] = "game" .. i
	nodes[names[i]] = { id = 4 + i, roles = { "node" }, harbor = harbor(4 + i) }
end

return {
	cluster = "demo",
	secret = os.getenv("WISP_SECRET") or error("set WISP_SECRET to the "
		.. "cluster secret (wisp --new-secret makes one)"),
	log_level = "info",
	call_timeout = 5000,
	harbor = { heartbeat = 1000, timeout = 3000 },
	env = {
		demo_games = table.concat(names, " "), -- where agents are placed
		demo_room = "room@lobby",              -- where agents find the rooms
	},
	-- the players' rows, cached in process (no memcached)
	db = {
		file = os.getenv("WISP_DB_FILE") or "wisp-demo.db",
		migrations = here .. "/../services/demo/migrations",
	},
	nodes = nodes,
}
