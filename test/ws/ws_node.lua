-- ws_node.lua: the config of test_ws.py: one node whose gate takes TCP
-- clients at WISP_PORT_BASE and WebSocket ones one above, from one
-- allowed Origin (or none), with short deadlines so that the slow and
-- silent cases end soon, and a partial budget that four unfinished
-- messages of 1,000 bytes fit in, and five do not.
local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "."
local base = assert(tonumber(os.getenv("WISP_PORT_BASE")),
	"set WISP_PORT_BASE to the first of two free ports")

return {
	lua_path = here .. "/?.lua",
	log_level = "info",
	nodes = {
		main = {
			id = 1,
			roles = { "node", "net" },
			services = { "lua ws_front" },
			gate = {
				listen = "127.0.0.1:" .. base,
				ws_listen = "127.0.0.1:" .. (base + 1),
				ws_origins = { "http://good.example" },
				max_body = 1024,
				partial_budget = 4096,
				first_frame_timeout = 2000,
				idle_timeout = 6000,
				events = "front",
				commands = { { 1, 6, "front" } },
			},
		},
	},
}
