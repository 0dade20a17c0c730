-- cluster.lua: the config of test_prometheus.py: a root, a game node with
-- two Lua services (front calls back) and a net node with a gate, both
-- serving metrics. Ports from WISP_PORT_BASE: the harbors of root, game
-- and net, the gate, then the metrics of game and of net.
local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "."
local base = assert(tonumber(os.getenv("WISP_PORT_BASE")),
	"set WISP_PORT_BASE to the first of six free ports")

local function address(offset)
	return "127.0.0.1:" .. (base + offset)
end

return {
	cluster = "metrics-tests",
	lua_path = here .. "/?.lua",
	log_level = "info",
	stop_timeout = 2000,
	secret = os.getenv("WISP_SECRET") or error("set WISP_SECRET to the "
		.. "cluster secret (wisp --new-secret makes one)"),
	console_token = "prometheus token",
	nodes = {
		root = { id = 1, roles = { "root" }, harbor = address(0) },
		game = { id = 2, harbor = address(1), metrics = address(4),
			services = { "lua back", "lua front" } },
		net = { id = 3, roles = { "net" }, harbor = address(2),
			metrics = address(5),
			gate = { listen = address(3), commands = { { 1, 2, "front@game" } } } },
	},
}
