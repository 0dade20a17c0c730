-- counter_cluster.lua: two nodes for the README's counter example, run by
-- test/integration/test_readme.py from its work directory: game1 runs
-- hello/counter.lua (from the README), lobby the README's call snippet
-- wrapped in readme/snippet.lua. The driver maps each 127.0.0.1 port to
-- a free one.
return {
	cluster = "readme-counter",
	secret = os.getenv("WISP_SECRET") or error("set WISP_SECRET to the "
		.. "cluster secret (wisp --new-secret makes one)"),
	lua_path = "hello/?.lua;readme/?.lua",
	stop_timeout = 2000,
	nodes = {
		game1 = { id = 1, roles = { "root", "node" }, harbor = "127.0.0.1:7001",
			services = { "lua counter" } },
		lobby = { id = 2, harbor = "127.0.0.1:7002",
			services = { "lua snippet" } },
	},
}
