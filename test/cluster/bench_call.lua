-- bench_call.lua: node A of harbor_call: serial call round trips from a
-- service on A to the counter on node B and back. Any failure stops the
-- node with exit code 1.
local wisp = require "wisp"
local bench = require "bench"

local TOTAL = 200000

local function run()
	local counter = wisp.call("counter@game2", "whoami")
	local call = wisp.call
	for i = 1, 1000 do -- warm up
		call(counter, "echo", i)
	end
	local started = wisp.now()
	for i = 1, TOTAL do
		local got = call(counter, "echo", i)
		if got ~= i then
			error("call " .. i .. " answered " .. tostring(got))
		end
	end
	bench.rate("harbor_call", TOTAL, started, "calls/s")
end

wisp.start(function()
	wisp.fork(function()
		local ok, err = xpcall(run, debug.traceback)
		if not ok then
			wisp.log_error("harbor_call failed: " .. tostring(err))
		end
		wisp.shutdown(ok and 0 or 1)
	end)
end)
