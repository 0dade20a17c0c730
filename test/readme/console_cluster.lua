-- console_cluster.lua: the cluster of the README's console session, run
-- by test/integration/test_readme.py from its work directory: a root with
-- the console, a net node with the metrics endpoint and a game node
-- running room.lua. The driver maps each 127.0.0.1 port to a free one.
return {
	cluster = "readme-console",
	secret = os.getenv("WISP_SECRET") or error("set WISP_SECRET to the "
		.. "cluster secret (wisp --new-secret makes one)"),
	console_token = "change-me",
	lua_path = "readme/?.lua",
	stop_timeout = 2000,
	harbor = { heartbeat = 250, timeout = 1500 },
	nodes = {
		root = { id = 1, roles = { "root" }, harbor = "127.0.0.1:7001",
			console = "127.0.0.1:7500" },
		net = {
			id = 2,
			roles = { "net" },
			harbor = "127.0.0.1:7002",
			metrics = "127.0.0.1:9100",
			gate = { listen = "127.0.0.1:7100",
				commands = { { 1000, "room@game1" } } },
		},
		game1 = { id = 3, harbor = "127.0.0.1:7003",
			services = { "lua room" } },
	},
}
