-- roots.lua: the config of the root failover test (test_roots.c): two roots,
-- r1 then r2 in `roots`, and two nodes a and b on loopback. Ports come
-- from WISP_PORT_BASE (r1 at the base, then r2, a, b) so that parallel
-- runs do not collide; WISP_GATE is the directory of the driver's gate
-- files. The roots run root_probe.lua, a and b run roots_node.lua, and b
-- also runs the cases (roots_cases.lua).
local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "."
local base = assert(tonumber(os.getenv("WISP_PORT_BASE")),
	"set WISP_PORT_BASE to the first of four free ports")

local function node(id, offset, roles, services)
	return {
		id = id,
		roles = roles,
		harbor = "127.0.0.1:" .. (base + offset),
		services = services,
	}
end

return {
	cluster = "root-failover-test",
	roots = { "r1", "r2" },
	lua_path = here .. "/?.lua;" .. here .. "/../lua/?.lua",
	log_level = os.getenv("WISP_LOG_LEVEL") or "info",
	call_timeout = 10000,
	stop_timeout = 2000,
	secret = os.getenv("WISP_SECRET") or error("set WISP_SECRET to the "
		.. "cluster secret (wisp --new-secret makes one)"),
	env = { gate = os.getenv("WISP_GATE") or "" },
	harbor = {
		heartbeat = 250,
		timeout = 1500,
		-- WISP_SAME_HOST=0: TCP on loopback; WISP_HARBOR_TLS: TLS on it
		same_host = os.getenv("WISP_SAME_HOST") ~= "0",
		tls = dofile(here .. "/tls_env.lua")(here, { "r1", "r2", "a", "b" }),
	},
	nodes = {
		r1 = node(1, 0, { "root" }, { "lua root_probe r1" }),
		r2 = node(2, 1, { "root" }, { "lua root_probe r2" }),
		a = node(3, 2, { "node" }, { "lua roots_node svc_a" }),
		b = node(4, 3, { "node" }, { "lua roots_node svc_b",
			"lua roots_cases" }),
	},
}
