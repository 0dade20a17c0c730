-- master.lua: the config of the master test (test_master.c), started as a
-- whole by `wisp CONFIG`: a root, a db node, two game nodes and a net
-- node on loopback. Ports come from WISP_PORT_BASE (root at the base,
-- then db, game1, game2, net, and the net node's gate); WISP_MASTER_DIR is
-- the driver's temporary directory, holding the database. game1 answers
-- pings under a cluster-wide name (pinger.lua); game2 calls it by that
-- name every 100 ms and logs how each call went (caller.lua).
local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "."
local base = assert(tonumber(os.getenv("WISP_PORT_BASE")),
	"set WISP_PORT_BASE to the first of six free ports")
local dir = assert(os.getenv("WISP_MASTER_DIR"), "set WISP_MASTER_DIR")

local function node(id, roles, services)
	return {
		id = id,
		roles = roles,
		harbor = "127.0.0.1:" .. (base + id - 1),
		services = services,
	}
end

local net = node(5, { "net" })
net.gate = { listen = "127.0.0.1:" .. (base + 5) }

return {
	cluster = "master-test",
	lua_path = here .. "/?.lua;" .. here .. "/../lua/?.lua",
	log_level = "info",
	call_timeout = 1000,
	stop_timeout = 2000,
	secret = os.getenv("WISP_SECRET") or error("set WISP_SECRET to the "
		.. "cluster secret (wisp --new-secret makes one)"),
	harbor = {
		heartbeat = 250,
		timeout = 1500,
	},
	db = { file = dir .. "/m.db" },
	nodes = {
		root = node(1, { "root" }),
		db = node(2, { "db" }),
		game1 = node(3, { "node" }, { "lua pinger" }),
		game2 = node(4, { "node" }, { "lua caller" }),
		net = net,
	},
}
