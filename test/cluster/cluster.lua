-- cluster.lua: the config of the multi-process tests and the harbor
-- benchmarks: a root and four nodes on loopback. Ports come from
-- WISP_PORT_BASE (root at the base, then game1, game2, game3, rogue) so
-- that parallel runs do not collide; each process runs the script named by
-- WISP_SCRIPT. WISP_SECRET is the cluster secret (test/meson.build makes
-- one per build); a process given another one plays a rogue node.
local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "."
local base = assert(tonumber(os.getenv("WISP_PORT_BASE")),
	"set WISP_PORT_BASE to the first of five free ports")
local script = os.getenv("WISP_SCRIPT")

local function node(id, offset)
	return {
		id = id,
		harbor = "127.0.0.1:" .. (base + offset),
		services = script and { "lua " .. script } or {},
	}
end

-- harbor.tls from WISP_HARBOR_TLS (tls_env.lua).
local tls = dofile(here .. "/tls_env.lua")(here,
	{ "root", "game1", "game2", "game3", "rogue" })

local root = node(1, 0)
root.roles = { "root" }

return {
	cluster = "cluster-tests",
	lua_path = here .. "/?.lua;" .. here .. "/../lua/?.lua;" .. here
		.. "/../bench/lua/?.lua",
	log_level = os.getenv("WISP_LOG_LEVEL") or "info",
	call_timeout = 30000, -- only a lost link may end a call early
	stop_timeout = 2000,
	secret = os.getenv("WISP_SECRET") or error("set WISP_SECRET to the "
		.. "cluster secret (wisp --new-secret makes one)"),
	env = { gate = os.getenv("WISP_GATE") or "",
		bench_name = os.getenv("WISP_BENCH_NAME") or "" },
	harbor = {
		heartbeat = 250,
		-- game1.lua keeps a link busy for longer; WISP_HARBOR_TIMEOUT
		-- makes it long, so that only a lost link ends a call early
		timeout = tonumber(os.getenv("WISP_HARBOR_TIMEOUT")) or 1500,
		max_frame = 16 * 1024 * 1024,
		compress = 4096,
		-- WISP_SAME_HOST=0: TCP on loopback, as between hosts
		same_host = os.getenv("WISP_SAME_HOST") ~= "0",
		tls = tls,
	},
	nodes = {
		root = root,
		game1 = node(2, 1),
		game2 = node(3, 2),
		game3 = node(4, 3),
		rogue = node(5, 4),
	},
}
