-- bench_call.lua: node A of harbor_call: serial call round trips from a
-- service on A to the counter on node B and back.
local wisp = require "wisp"
local bench = require "bench"

local TOTAL = 200000

wisp.start(function()
	wisp.fork(function()
		local counter = wisp.call("counter@game2", "whoami")
		local call = wisp.call
		for i = 1, 1000 do -- warm up
			call(counter, "echo", i)
		end
		local started = wisp.now()
		for i = 1, TOTAL do
			assert(call(counter, "echo", i) == i)
		end
		bench.rate("harbor_call", TOTAL, started, "calls/s")
		bench.done()
	end)
end)
