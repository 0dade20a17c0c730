-- gate.lua: the config of the gate benchmarks (test/bench/bench_gate.c,
-- bench_ws.c): one net node whose gate listens on 127.0.0.1:WISP_GATE_PORT
-- (and for WebSocket clients on WISP_WS_PORT, when set) and routes
-- commands 1 and 2 to gate_bench.lua. Room for the 10,000 clients of
-- gate_conn_kb and gate_broadcast_ms, which stay idle (no idle or
-- first-frame timeout) and all come from 127.0.0.1 (no max_per_address).
-- The echo (1) is not ordered: gate_echo's clients pipeline 8 echoes
-- each, which need no order; ordered, each client's would go one at a
-- time, a round trip through the scheduler each (README, "Clients").
local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "."
local port = assert(tonumber(os.getenv("WISP_GATE_PORT")),
	"set WISP_GATE_PORT to a free port for the clients")
-- WISP_WS_PORT: WebSocket clients there too (test/bench/bench_ws.c)
local ws_port = tonumber(os.getenv("WISP_WS_PORT"))
-- WISP_GATE_CERT and WISP_GATE_KEY: TLS clients (test/bench/bench_tls.c)
local cert = os.getenv("WISP_GATE_CERT")

return {
	cluster = "gate-bench",
	lua_path = here .. "/?.lua",
	log_level = "info",
	nodes = {
		net = {
			id = 1,
			roles = { "net" },
			services = { "lua gate_bench" },
			gate = {
				listen = "127.0.0.1:" .. port,
				ws_listen = ws_port and "127.0.0.1:" .. ws_port or nil,
				tls = cert and { cert = cert, key = os.getenv("WISP_GATE_KEY") }
					or nil,
				max_connections = 11000,
				idle_timeout = 0,
				first_frame_timeout = 0,
				max_per_address = 0,
				commands = { { 1, "gate_bench", ordered = false },
					{ 2, "gate_bench" } },
			},
		},
	},
}
