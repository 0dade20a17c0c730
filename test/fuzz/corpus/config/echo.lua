-- echo.lua: one node running the example echo service.
-- Start it with: build/wisp conf/echo.lua main
return {
	cluster = "echo",
	log_level = "info",
	nodes = {
		main = {
			id = 1,
			roles = { "node" },
			services = {
				{ "echo", os.getenv("WISP_ECHO_ADDR") or "127.0.0.1:9000" },
			},
		},
	},
}
