-- node.lua: the one-process node the TypeScript SDK's tests start: a gate
-- in front of sdk.lua. The environment gives its ports: WISP_GATE_PORT
-- (TCP clients), WISP_WS_PORT (WebSocket clients, when set) and
-- WISP_REQUEST_IDS=1 to turn request ids on; WISP_GATE_CERT and
-- WISP_GATE_KEY, when set, are gate.tls's (TLS on both listeners).
local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "."
local port = assert(tonumber(os.getenv("WISP_GATE_PORT")),
	"set WISP_GATE_PORT to a free port")
local ws = tonumber(os.getenv("WISP_WS_PORT") or "")

return {
	lua_path = here .. "/?.lua",
	log_level = "info",
	nodes = {
		main = {
			id = 1,
			roles = { "node", "net" },
			services = { "lua sdk" },
			gate = {
				listen = "127.0.0.1:" .. port,
				ws_listen = ws and "127.0.0.1:" .. ws or nil,
				request_ids = os.getenv("WISP_REQUEST_IDS") == "1",
				tls = os.getenv("WISP_GATE_CERT") and { cert =
					os.getenv("WISP_GATE_CERT"), key = os.getenv("WISP_GATE_KEY") },
				reply_timeout = 10000,
				commands = {
					{ 1, 4, "sdk" },
					{ 5, "sdk", ordered = false },
					{ 6, "sdk" },
				},
			},
		},
	},
}
