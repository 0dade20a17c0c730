-- cluster.lua: the config of test_traces.c: a net node (the root too)
-- whose gate routes client commands to the room on game1, which calls
-- slowdb on the db node; each node its own process on loopback. A call
-- slower than slow_call_ms is logged with its trace's path. Ports come
-- from WISP_PORT_BASE: the harbors of net, game1 and db at the base,
-- then the gate's and the console's.
local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "."
local base = assert(tonumber(os.getenv("WISP_PORT_BASE")),
	"set WISP_PORT_BASE to the first of five free ports")

local function address(offset)
	return "127.0.0.1:" .. (base + offset)
end

return {
	cluster = "trace-tests",
	lua_path = here .. "/?.lua",
	log_level = "debug", -- the gate's line for each command is a debug one
	stop_timeout = 2000,
	slow_call_ms = 100,
	secret = os.getenv("WISP_SECRET") or error("set WISP_SECRET to the "
		.. "cluster secret (wisp --new-secret makes one)"),
	harbor = { heartbeat = 250, timeout = 1500 },
	nodes = {
		net = {
			id = 1,
			roles = { "root", "net" },
			harbor = address(0),
			console = address(4),
			gate = { listen = address(3), commands = { { 1000, 1001, "room@game1" } } },
		},
		game1 = { id = 2, harbor = address(1), services = { "lua room" } },
		db = { id = 3, harbor = address(2), services = { "lua slowdb" } },
	},
}
