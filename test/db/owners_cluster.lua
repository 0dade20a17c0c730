-- owners_cluster.lua: the config of test_owners.py: two db nodes, each
-- owning its tables (db1 every table but score and tag, db2 those two),
-- each with its own sqlite file, and two game nodes running owners.lua
-- against both at once. Ports from WISP_PORT_BASE (root, db1, db2, game1,
-- game2, the root's console); WISP_DB_DIR holds the files and the
-- migrations. WISP_OWNERS_SKEW gives db2 a config that disagrees (it no
-- longer lists score); WISP_OWNERS_SCRIPT names the game nodes' script;
-- with WISP_PG (a conninfo) both db nodes use that one PostgreSQL
-- database instead of their sqlite files.
local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "."
local base = assert(tonumber(os.getenv("WISP_PORT_BASE")),
	"set WISP_PORT_BASE to the first of six free ports")
local dir = assert(os.getenv("WISP_DB_DIR"), "set WISP_DB_DIR")
local script = "lua " .. (os.getenv("WISP_OWNERS_SCRIPT") or "owners")
local postgres = os.getenv("WISP_PG")
local function file(name)
	return not postgres and dir .. "/" .. name or nil
end

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
	db = { file = file("db1.db"), migrations = dir .. "/migrations",
		postgres = postgres and { conninfo = postgres } or nil, batch = 50 },
	nodes = {
		root = node(1, { "root" }, { console = "127.0.0.1:" .. (base + 5) }),
		db1 = node(2, { "db" }),
		db2 = node(3, { "db" }, { db = { file = file("db2.db"),
			tables = os.getenv("WISP_OWNERS_SKEW") and { "tag" }
				or { "score", "tag" } } }),
		game1 = node(4, { "node" }, { services = { script } }),
		game2 = node(5, { "node" }, { services = { script } }),
	},
}
