-- cluster.lua: the config of test_console.c: a root with the console, a
-- game node with a Lua service, and a net node with a gate and the
-- metrics endpoint, each its own process on loopback. Ports come from
-- WISP_PORT_BASE: the harbors of root, net and game at the base, then
-- the gate's, the root's console and the net node's metrics.
local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "."
local base = assert(tonumber(os.getenv("WISP_PORT_BASE")),
	"set WISP_PORT_BASE to the first of six free ports")

local function address(offset)
	return "127.0.0.1:" .. (base + offset)
end

return {
	cluster = "console-tests",
	lua_path = here .. "/?.lua",
	log_level = "info",
	stop_timeout = 2000,
	secret = os.getenv("WISP_SECRET") or error("set WISP_SECRET to the "
		.. "cluster secret (wisp --new-secret makes one)"),
	console_token = "the console's token",
	harbor = { heartbeat = 250, timeout = 1500 },
	nodes = {
		root = { id = 1, roles = { "root" }, harbor = address(0),
			console = address(4) },
		net = {
			id = 2,
			roles = { "net" },
			harbor = address(1),
			metrics = address(5),
			gate = { listen = address(3), commands = { { 1000, "room@game" } } },
		},
		game = { id = 3, harbor = address(2), services = { "lua room" } },
	},
}
