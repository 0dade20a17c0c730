-- lua_spawn.lua: how fast services start (newservice returns once the new
-- service has run its start), and what an idle one costs in memory with
-- 10,000 alive.
local wisp = require "wisp"
local bench = require "bench"

local ALIVE = 10000

wisp.start(function()
	for _ = 1, 1000 do -- warm up: compile once, fill pools
		wisp.kill(wisp.newservice("idle"))
	end
	wisp.sleep(10)
	local before = bench.rss_kb()
	local handles = {}
	local started = wisp.now()
	for i = 1, ALIVE do
		handles[i] = wisp.newservice("idle")
	end
	bench.rate("lua_spawn", ALIVE, started, "services/s")
	bench.report("lua_service_kb", (bench.rss_kb() - before) / ALIVE, "KB")
	for i = 1, ALIVE do
		wisp.kill(handles[i])
	end
	bench.done()
end)
