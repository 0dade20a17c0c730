-- cluster.lua: the config of test_placement.c: a root, a net node whose
-- gate routes commands 1..9 to the board on game2, and three game nodes;
-- game4 is in the config but never started (a node that is down). The
-- net node runs the Lua cases (cases.lua); each game node runs the board
-- and the probe. Ports from WISP_PORT_BASE: the harbors of root, net,
-- game1..game4 in turn, then the gate's. WISP_GATE is the directory of
-- testing.ask_driver.
local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "."
local base = assert(tonumber(os.getenv("WISP_PORT_BASE")),
	"set WISP_PORT_BASE to the first of seven free ports")

local function address(offset)
	return "127.0.0.1:" .. (base + offset)
end

local function game(id, offset)
	return { id = id, harbor = address(offset),
		services = { "lua board", "lua probe" } }
end

return {
	cluster = "placement-tests",
	lua_path = here .. "/?.lua;" .. here .. "/../lua/?.lua",
	log_level = "info",
	call_timeout = 10000,
	stop_timeout = 2000,
	secret = os.getenv("WISP_SECRET") or error("set WISP_SECRET to the "
		.. "cluster secret (wisp --new-secret makes one)"),
	env = { gate = os.getenv("WISP_GATE") or "" },
	harbor = { heartbeat = 250, timeout = 1500 },
	gate = { magic = "WPLT", reply_timeout = 3000 },
	nodes = {
		root = { id = 1, roles = { "root" }, harbor = address(0) },
		net = {
			id = 2,
			roles = { "net" },
			harbor = address(1),
			services = { "lua cases" },
			gate = { listen = address(6), commands = { { 1, 9, "board@game2" } } },
		},
		game1 = game(3, 2),
		game2 = game(4, 3),
		game3 = game(5, 4),
		game4 = game(6, 5),
	},
}
