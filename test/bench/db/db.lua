-- db.lua: the config of the db benchmarks: a db node (also the root) and
-- a game node on loopback. Ports from WISP_PORT_BASE (two in a row), the
-- database file from WISP_DB_FILE (or PostgreSQL's conninfo from
-- WISP_PG), memcached servers from WISP_MEMCACHED
-- (none: the in-process cache), the game node's script from WISP_SCRIPT,
-- sqlite's synchronous from WISP_DB_SYNC (default normal).
local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "."
local base = assert(tonumber(os.getenv("WISP_PORT_BASE")),
	"set WISP_PORT_BASE to the first of two free ports")
local memcached = os.getenv("WISP_MEMCACHED")
local postgres = os.getenv("WISP_PG")

return {
	cluster = "db-bench",
	lua_path = here .. "/?.lua;" .. here .. "/../lua/?.lua",
	secret = os.getenv("WISP_SECRET") or error("set WISP_SECRET to the "
		.. "cluster secret (wisp --new-secret makes one)"),
	call_timeout = 30000,
	db = {
		file = not postgres and assert(os.getenv("WISP_DB_FILE"),
			"set WISP_DB_FILE") or nil,
		postgres = postgres and { conninfo = postgres } or nil,
		migrations = here .. "/migrations",
		memcached = memcached and { servers = { memcached } } or nil,
		synchronous = os.getenv("WISP_DB_SYNC"),
	},
	nodes = {
		db = { id = 1, roles = { "root", "db" }, harbor = "127.0.0.1:" .. base },
		game = { id = 2, harbor = "127.0.0.1:" .. (base + 1),
			services = { "lua " .. (os.getenv("WISP_SCRIPT") or "bench_db") } },
	},
}
