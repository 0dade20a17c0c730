-- bench_send.lua: node A of harbor_send: one service sends 1,000,000 small
-- messages to the counter on node B, by handle, then asks it how many it
-- counted; the rate counts until that answer. B's mailbox is bounded: see
-- run. Any failure stops the node
-- with exit code 1.
local wisp = require "wisp"
local bench = require "bench"

local TOTAL, BATCH = 1000000, 10000

-- Asks B, in a task of its own, for its count, which it answers once it
-- has handled everything sent before: the returned function waits for
-- that answer.
local function checkpoint(counter)
	local done, waiter = false, nil
	wisp.fork(function()
		wisp.call(counter, "count")
		done = true
		if waiter then
			wisp.wakeup(waiter)
		end
	end)
	return function()
		if not done then
			waiter = coroutine.running()
			wisp.wait()
		end
	end
end

-- A send across the harbor to a full mailbox is dropped there (a send
-- wants no answer), so A keeps at most two batches ahead of B: it waits
-- for the checkpoint after the batch before the last.
local function run()
	local counter = wisp.call("counter@game2", "whoami")
	local send = wisp.send
	local started = wisp.now()
	local previous
	for i = 1, TOTAL do
		send(counter, "ping", i)
		if i % BATCH == 0 then
			local this = checkpoint(counter)
			if previous then
				previous()
			end
			previous = this
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
