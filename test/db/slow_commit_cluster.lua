-- slow_commit_cluster.lua: the config of test_slow_commit.py: a db node
-- (also the root, with a console) on a disk the test slows, with sqlite's
-- synchronous from WISP_DB_SYNC (full: every commit fsyncs), and a game
-- node running slow_commit.lua; the cache in the memcached WISP_MEMCACHED
-- names, if set.
-- Links go silent after 700 ms, so a db node that stalled for a 1 s
-- commit would be seen down. Ports from WISP_PORT_BASE (db, game,
-- console); WISP_DB_DIR holds the file and the migrations.
local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "."
local base = assert(tonumber(os.getenv("WISP_PORT_BASE")),
	"set WISP_PORT_BASE to the first of three free ports")
local dir = assert(os.getenv("WISP_DB_DIR"), "set WISP_DB_DIR")

return {
	cluster = "db-slow-commit-test",
	lua_path = here .. "/?.lua;" .. here .. "/../lua/?.lua",
	log_level = "info",
	call_timeout = 20000,
	secret = assert(os.getenv("WISP_SECRET"), "set WISP_SECRET"),
	harbor = { heartbeat = 200, timeout = 700 },
	db = { file = dir .. "/slow.db", migrations = dir .. "/migrations",
		synchronous = os.getenv("WISP_DB_SYNC") or "full",
		memcached = os.getenv("WISP_MEMCACHED")
			and { servers = { os.getenv("WISP_MEMCACHED") } } or nil },
	nodes = {
		db = { id = 1, roles = { "root", "db" },
			harbor = "127.0.0.1:" .. base,
			console = "127.0.0.1:" .. (base + 2) },
		game = { id = 2, harbor = "127.0.0.1:" .. (base + 1),
			services = { "lua slow_commit" } },
	},
}
