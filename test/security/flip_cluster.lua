-- flip_cluster.lua: the config of test_tls_flip.py: a root and game1 on
-- loopback with TLS on their links (harbor.tls = true; loopback alone
-- would leave them plaintext). game1 reaches the root at WISP_ROOT_DIAL,
-- a proxy that flips a byte on the way; the root itself listens at
-- WISP_PORT_BASE, game1 one above.
local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "."
local base = assert(tonumber(os.getenv("WISP_PORT_BASE")),
	"set WISP_PORT_BASE to the first of three free ports")
local root_port = tonumber(os.getenv("WISP_ROOT_DIAL")) or base

return {
	cluster = "flip-tests",
	lua_path = here .. "/?.lua",
	log_level = "info",
	secret = assert(os.getenv("WISP_SECRET"), "set WISP_SECRET"),
	harbor = { heartbeat = 250, timeout = 5000, tls = true,
		same_host = false },
	nodes = {
		root = { id = 1, roles = { "root" },
			harbor = "127.0.0.1:" .. root_port,
			services = { "lua flip_sink" } },
		game1 = { id = 2, harbor = "127.0.0.1:" .. (base + 1),
			services = { "lua flip_source" } },
	},
}
