-- single.lua: the embedded default: one process that holds every role,
-- with no harbor (nothing to link to) and the in-process defaults: the
-- demo game (services/demo/, README "The demo game") on sqlite3, its rows
-- cached in process. Clients connect to the gate at WISP_GATE_ADDR
-- (127.0.0.1:7100 unless set); the database is WISP_DB_FILE
-- (wisp-single.db in the current directory unless set).
-- Start it with: build/wisp conf/single.lua main
local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "."

return {
	cluster = "single",
	log_level = "info",
	-- the demo's players' agents start on this node, and find the rooms here
	env = { demo_games = "main", demo_room = "room" },
	db = {
		file = os.getenv("WISP_DB_FILE") or "wisp-single.db",
		migrations = here .. "/../services/demo/migrations",
	},
	nodes = {
		main = {
			id = 1,
			roles = { "root", "node", "net", "db" },
			services = { "lua demo.room", "lua demo.login" },
			gate = {
				listen = os.getenv("WISP_GATE_ADDR") or "127.0.0.1:7100",
				events = "login", -- disconnects take players out
				commands = {
					{ 101, 103, "login" }, -- login; enter, move until bound
					{ 104, "room" },        -- chat
				},
			},
		},
	},
}
