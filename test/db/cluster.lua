-- cluster.lua: the config of the db test (test/integration/test_db.c): a
-- root, a db node and two game nodes on loopback. Ports come from
-- WISP_PORT_BASE (root at the base, then db, game1, game2); WISP_DB_DIR is
-- the driver's temporary directory, holding the database and the
-- migrations it copies there; WISP_MEMCACHED ("host:port"), when set,
-- puts the row cache in that memcached; WISP_PG, when set, is the libpq
-- conninfo of a PostgreSQL database in place of the sqlite3 file. Each game process runs the
-- script (with its arguments) named by WISP_SCRIPT.
local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "."
local base = assert(tonumber(os.getenv("WISP_PORT_BASE")),
	"set WISP_PORT_BASE to the first of four free ports")
local dir = assert(os.getenv("WISP_DB_DIR"), "set WISP_DB_DIR")
local memcached = os.getenv("WISP_MEMCACHED")
local postgres = os.getenv("WISP_PG")
local script = os.getenv("WISP_SCRIPT")

local function node(id, offset, roles)
	return {
		id = id,
		roles = roles,
		harbor = "127.0.0.1:" .. (base + offset),
		services = script and roles[1] == "node" and { "lua " .. script }
			or {},
	}
end

return {
	cluster = "db-test",
	lua_path = here .. "/?.lua;" .. here .. "/../lua/?.lua",
	log_level = os.getenv("WISP_LOG_LEVEL") or "info",
	-- a write to a db node that is gone fails within this (the harbor
	-- usually says so sooner)
	call_timeout = 5000,
	stop_timeout = 5000,
	secret = os.getenv("WISP_SECRET") or error("set WISP_SECRET to the "
		.. "cluster secret (wisp --new-secret makes one)"),
	env = { gate = dir, cache = memcached and "memcached" or "memory" },
	harbor = {
		heartbeat = 250,
		timeout = 1500,
		max_frame = 8 * 1024 * 1024, -- rows of 1 MB and more
	},
	db = {
		file = not postgres and dir .. "/game.db" or nil,
		postgres = postgres and { conninfo = postgres } or nil,
		migrations = dir .. "/migrations",
		synchronous = os.getenv("WISP_DB_SYNC"), -- test_db.c: full with memcached
		-- small, so that the incr load fills batches and commits them
		-- before the turn ends, as well as at the turn's end
		batch = 50,
		static = { "item" },
		memcached = memcached and {
			servers = { memcached },
			prefix = "dbtest",
			timeout = 500,
		} or nil,
	},
	nodes = {
		root = node(1, 0, { "root" }),
		db = node(2, 1, { "db" }),
		game1 = node(3, 2, { "node" }),
		game2 = node(4, 3, { "node" }),
	},
}
