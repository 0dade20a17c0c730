-- contract.lua: the config of test_client_contract.c and of the
-- gate_error_ms benchmark: a net node (also the root) whose gate fronts
-- services of its own (front.lua, login.lua, world.lua, busy.lua) and a
-- game node's (game.lua), and a node "ghost" that is never started. Ports
-- come from WISP_PORT_BASE: net's harbor, game's, the gate's, ghost's.
-- WISP_REQUEST_IDS=1 turns request ids on, with error frames under
-- command 9999 instead of the default 4294967295.
local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "."
local base = assert(tonumber(os.getenv("WISP_PORT_BASE")),
	"set WISP_PORT_BASE to the first of four free ports")
local ids = os.getenv("WISP_REQUEST_IDS") == "1"

local function address(offset)
	return "127.0.0.1:" .. (base + offset)
end

return {
	cluster = "contract-tests",
	lua_path = here .. "/?.lua",
	log_level = "info",
	stop_timeout = 2000,
	secret = os.getenv("WISP_SECRET") or error("set WISP_SECRET to the "
		.. "cluster secret (wisp --new-secret makes one)"),
	-- a SIGSTOPped node must be ended by gate.reply_timeout, not by the
	-- harbor giving up on the link; a killed one closes its sockets
	harbor = { heartbeat = 250, timeout = 20000 },
	nodes = {
		net = {
			id = 1,
			roles = { "root", "net" },
			harbor = address(0),
			services = { "lua front", "lua login", "lua world",
				{ "lua", "busy", mailbox_limit = 1 } },
			gate = {
				listen = address(2),
				reply_timeout = 3000,
				max_inflight = 8,
				max_per_address = 0, -- the benchmark's 1,000 clients
				request_ids = ids,
				error_command = ids and 9999 or nil,
				commands = {
					{ 1, 4, "front" },
					{ 10, "login" }, { 11, "world" },
					{ 20, "login", ordered = false },
					{ 21, "world", ordered = false },
					{ 30, "nosuch" }, { 31, "game@ghost" },
					{ 40, 42, "game@game" },
					{ 50, "busy", ordered = false },
				},
			},
		},
		game = { id = 2, harbor = address(1), services = { "lua game" } },
		ghost = { id = 3, harbor = address(3) },
	},
}
