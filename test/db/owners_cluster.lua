-- owners_cluster.lua: the config of test_owners.py: two db nodes, each
-- owning its tables (db1 every table but score and tag, db2 those two),
-- each with its own sqlite file, and two game nodes running owners.lua
-- against both at once. Ports from WISP_PORT_BASE (root, db1, db2, game1,
-- game2); WISP_DB_DIR holds the files and the migrations.
local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "."
local base = assert(tonumber(os.getenv("WISP_PORT_BASE")),
	"set WISP_PORT_BASE to the first of five free ports")
local dir = assert(os.getenv("WISP_DB_DIR"), "set WISP_DB_DIR")

local function node(id, roles, extra)
	local n = { id = id, roles = roles,
		harbor = "127.0.0.1:" .. (base + id - 1) }
	for k, v in pairs(extra or {}) do
		n[k] = v
	end
	return n
end

return {
	cluster = "db-owners-test",
	lua_path = here .. "/?.lua;" .. here .. "/../lua/?.lua",
	log_level = "info",
	call_timeout = 10000,
	secret = assert(os.getenv("WISP_SECRET"), "set WISP_SECRET"),
	harbor = { heartbeat = 250, timeout = 1500 },
	db = { file = dir .. "/db1.db", migrations = dir .. "/migrations",
		batch = 50 },
	nodes = {
		root = node(1, { "root" }),
		db1 = node(2, { "db" }),
		db2 = node(3, { "db" }, { db = { file = dir .. "/db2.db",
			tables = { "score", "tag" } } }),
		game1 = node(4, { "node" }, { services = { "lua owners" } }),
		game2 = node(5, { "node" }, { services = { "lua owners" } }),
	},
}
