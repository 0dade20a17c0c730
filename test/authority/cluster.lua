-- cluster.lua: the config of test_authority.c: a root, game1 and game2,
-- and peer: a node of the cluster, holding its secret, that tries what
-- only a root, or a console, may do (usurper.c, peer_cases.lua). Ports
-- come from WISP_PORT_BASE: the harbors of root, game1, game2 and peer,
-- then the root's console, game1's console and game1's metrics. The
-- driver makes a fresh secret per run (WISP_SECRET), and builds
-- usurper.so in WISP_TEST_MODULES.
local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "."
local base = assert(tonumber(os.getenv("WISP_PORT_BASE")),
	"set WISP_PORT_BASE to the first of seven free ports")
local modules = assert(os.getenv("WISP_TEST_MODULES"),
	"set WISP_TEST_MODULES to the directory of usurper.so")
local token = "the authority test's console token"

local function address(offset)
	return "127.0.0.1:" .. (base + offset)
end

return {
	cluster = "authority-test",
	module_path = modules .. "/?.so",
	lua_path = here .. "/?.lua;" .. here .. "/../lua/?.lua",
	log_level = "info",
	call_timeout = 10000,
	stop_timeout = 2000,
	secret = assert(os.getenv("WISP_SECRET"), "set WISP_SECRET"),
	console_token = token,
	console_auth_timeout = 2000,
	env = { gate = os.getenv("WISP_GATE") or "", token = token },
	-- WISP_HARBOR_TLS=psk: every link over TCP and TLS, as between hosts
	harbor = { heartbeat = 250, timeout = 1500,
		tls = os.getenv("WISP_HARBOR_TLS") == "psk" or nil,
		same_host = os.getenv("WISP_HARBOR_TLS") == nil },
	nodes = {
		root = { id = 1, roles = { "root" }, harbor = address(0),
			console = address(4) },
		game1 = { id = 2, harbor = address(1), console = address(5),
			metrics = address(6), services = { "lua probe" } },
		game2 = { id = 3, harbor = address(2), services = { "lua holder" } },
		peer = { id = 4, harbor = address(3),
			services = { "usurper", "lua peer_cases" } },
	},
}
