-- tls_node.lua: the config of test_gate_tls.py: one node whose gate
-- takes TLS clients at WISP_PORT_BASE and WebSocket ones over TLS (wss)
-- one above, with the certificate and key named by WISP_GATE_CERT and
-- WISP_GATE_KEY (the test rewrites them and sends SIGHUP), and a short
-- first_frame_timeout so that a stalled handshake ends soon. The
-- service is test_ws.py's (ws/ws_front.lua).
local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "."
local base = assert(tonumber(os.getenv("WISP_PORT_BASE")),
	"set WISP_PORT_BASE to the first of two free ports")

return {
	lua_path = here .. "/../ws/?.lua",
	log_level = "info",
	nodes = {
		main = {
			id = 1,
			roles = { "node", "net" },
			services = { "lua ws_front" },
			gate = {
				listen = "127.0.0.1:" .. base,
				ws_listen = "127.0.0.1:" .. (base + 1),
				tls = { cert = os.getenv("WISP_GATE_CERT"),
					key = os.getenv("WISP_GATE_KEY") },
				max_body = 1024,
				-- bulk()'s megabyte of replies may wait for a slow reader
				output_limit = 4 * 1024 * 1024,
				first_frame_timeout = 2000,
				events = "front",
				commands = { { 1, 6, "front" } },
			},
		},
	},
}
