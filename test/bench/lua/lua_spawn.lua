-- lua_spawn.lua: how fast services start (newservice returns once the new
-- service has run its start), and what an idle one costs in memory with
-- 10,000 alive. The spawn rate is the best of three rounds; the memory is
-- measured in the first, on a fresh heap.
local wisp = require "wisp"
local bench = require "bench"

local ALIVE, ROUNDS = 10000, 3

local function round()
	local before = bench.rss_kb()
	local handles = {}
	local started = wisp.now()
	for i = 1, ALIVE do
		handles[i] = wisp.newservice("idle")
	end
	local rate = bench.per_second(ALIVE, started)
	local kb = (bench.rss_kb() - before) / ALIVE
	for i = 1, ALIVE do
		wisp.kill(handles[i])
	end
	wisp.sleep(10)
	return rate, kb
end

wisp.start(function()
	for _ = 1, 1000 do -- warm up: compile once, fill pools
		wisp.kill(wisp.newservice("idle"))
	end
	wisp.sleep(10)
	local best, kb = round()
	for _ = 2, ROUNDS do
		best = math.max(best, (round()))
	end
	bench.report("lua_spawn", best, "services/s")
	bench.report("lua_service_kb", kb, "KB")
	bench.done()
end)
