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
	return bench.per_second(TOTAL, started)
end

wisp.start(function()
	local counter = wisp.newservice("counter")
	bench.report("lua_call", bench.best(ROUNDS, round, counter), "calls/s")
	bench.done()
end)
