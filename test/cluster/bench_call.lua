-- bench_call.lua: node A of harbor_call: serial call round trips from a
-- service on A to the counter on node B and back; the best of three
-- rounds (the machine's speed varies run to run). The figure's name is the
-- env's bench_name (harbor_call_busy, run beside CPU-bound processes), or
-- harbor_call. Any failure stops the node with exit code 1.
local wisp = require "wisp"
local bench = require "bench"

local TOTAL, ROUNDS = 100000, 3

local function round(counter)
	local call = wisp.call
	local started = wisp.now()
	for i = 1, TOTAL do
		local got = call(counter, "echo", i)
		if got ~= i then
			error("call " .. i .. " answered " .. tostring(got))
		end
	end
	return bench.per_second(TOTAL, started)
end

local function run()
	local counter = wisp.call("counter@game2", "whoami")
	for i = 1, 1000 do -- warm up
		wisp.call(counter, "echo", i)
	end
	local name = wisp.getenv("bench_name")
	bench.report(name ~= "" and name or "harbor_call",
		bench.best(ROUNDS, round, counter), "calls/s")
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
