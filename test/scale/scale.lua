-- scale.lua: the config of the scale test and benchmark
-- (test/integration/test_scale.c): a root and WISP_SCALE_NODES - 1 nodes
-- on loopback, all started by the master. Ports are a run from WISP_PORT_BASE (the root at
-- the base, node nI at base + I - 1). The root runs the collector
-- (collector.lua), every other node a member (member.lua): members tell
-- the collector when they see every other node up, when they see one go
-- down or come back, and how their cluster-wide names resolved.
local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "."
local base = assert(tonumber(os.getenv("WISP_PORT_BASE")),
	"set WISP_PORT_BASE to the first of WISP_SCALE_NODES free ports")
local count = assert(tonumber(os.getenv("WISP_SCALE_NODES")),
	"set WISP_SCALE_NODES to the number of nodes")

local nodes = {
	root = { id = 1, roles = { "root" }, harbor = "127.0.0.1:" .. base,
		services = { "lua collector " .. count } },
}
for id = 2, count do
	nodes["n" .. id] = { id = id, harbor = "127.0.0.1:" .. (base + id - 1),
		services = { "lua member " .. count .. " " .. id } }
end

return {
	cluster = "scale",
	lua_path = here .. "/?.lua",
	log_level = "info",
	secret = os.getenv("WISP_SECRET") or error("set WISP_SECRET to the "
		.. "cluster secret (wisp --new-secret makes one)"),
	nodes = nodes,
}
