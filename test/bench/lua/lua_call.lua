-- lua_call.lua: serial call round trips between two services; the best
-- of three rounds.
local wisp = require "wisp"
local bench = require "bench"

local TOTAL, ROUNDS = 300000, 3

local function round(counter)
	local call = wisp.call
	local started = wisp.now()
	for i = 1, TOTAL do
		call(counter, "echo", i)
	end
	return TOTAL / (math.max(wisp.now() - started, 1) / 1000)
end

wisp.start(function()
	local counter = wisp.newservice("counter")
	local best = 0
	for _ = 1, ROUNDS do
		best = math.max(best, round(counter))
	end
	bench.report("lua_call", best, "calls/s")
	bench.done()
end)
