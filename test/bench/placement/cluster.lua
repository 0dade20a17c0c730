-- cluster.lua: the config of the agent_login benchmark (test/bench/
-- bench_placement.c): a root, a net node whose gate routes logins
-- (command 101) to login.lua, and three game nodes where the logins'
-- agents start. Ports from WISP_PORT_BASE: the harbors of root, net,
-- game1..game3 in turn, then the gate's. All clients come from
-- 127.0.0.1 (no max_per_address).
local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "."
local base = assert(tonumber(os.getenv("WISP_PORT_BASE")),
	"set WISP_PORT_BASE to the first of six free ports")

local function address(offset)
	return "127.0.0.1:" .. (base + offset)
end

local function game(id, offset)
	return { id = id, harbor = address(offset) }
end

return {
	cluster = "placement-bench",
	lua_path = here .. "/?.lua",
	log_level = "info",
	secret = os.getenv("WISP_SECRET") or error("set WISP_SECRET to the "
		.. "cluster secret (wisp --new-secret makes one)"),
	gate = { max_per_address = 0, max_connections = 2000 },
	nodes = {
		root = { id = 1, roles = { "root" }, harbor = address(0) },
		net = {
			id = 2,
			roles = { "net" },
			harbor = address(1),
			services = { "lua login" },
			gate = { listen = address(5), events = "login",
				commands = { { 101, "login" } } },
		},
		game1 = game(3, 2),
		game2 = game(4, 3),
		game3 = game(5, 4),
	},
}
