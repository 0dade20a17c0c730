-- bench_send.lua: node A of harbor_send: one service sends 1,000,000 small
-- messages to the counter on node B, by handle, then asks it how many it
-- counted; the rate counts until that answer. Any failure stops the node
-- with exit code 1.
local wisp = require "wisp"
local bench = require "bench"

local TOTAL, BATCH = 1000000, 10000

local function run()
	local counter = wisp.call("counter@game2", "whoami")
	local send = wisp.send
	local started = wisp.now()
	for i = 1, TOTAL do
		send(counter, "ping", i)
		if i % BATCH == 0 then
			wisp.sleep(0) -- the harbor writes the batch; B drains it
		end
	end
	local counted = wisp.call(counter, "count")
	bench.rate("harbor_send", TOTAL, started, "msg/s")
	assert(counted == TOTAL, "B counted " .. counted .. " of " .. TOTAL)
end

wisp.start(function()
	wisp.fork(function()
		local ok, err = xpcall(run, debug.traceback)
		if not ok then
			wisp.log_error("harbor_send failed: " .. tostring(err))
		end
		wisp.shutdown(ok and 0 or 1)
	end)
end)
