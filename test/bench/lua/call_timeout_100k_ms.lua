-- call_timeout_100k_ms.lua: 100,000 calls, each in its own task, to a
-- service that never answers, all due at the same millisecond, while
-- 10,000 later calls keep waiting (a timeout must not walk past them);
-- the figure is the time from the first timeout to the last, best of
-- three rounds.
local wisp = require "wisp"
local bench = require "bench"

local TOTAL, WAITING, ROUNDS, BATCH = 100000, 10000, 3, 1000
-- every call is made within this, so that they share one deadline
local LEAD_MS = 3000

-- Makes a call for each id from first to last, each from a task of its
-- own, batch by batch: silent takes a batch before the next is made, so
-- its mailbox stays short. done(id, ok, err) runs as each call ends.
local function call_all(silent, first, last, timeout_of, done)
	for b = first, last, BATCH do
		for id = b, math.min(b + BATCH - 1, last) do
			wisp.fork(function()
				done(id, pcall(wisp.call_timeout, timeout_of(), silent, "hold", id))
			end)
		end
		wisp.sleep(0) -- the batch runs and sends
		wisp.call(silent, "sync")
	end
end

local function round(silent)
	collectgarbage() -- not the garbage of the round before
	local due = wisp.now() + LEAD_MS
	local me, first, last, ended, wrong = coroutine.running(), math.huge, 0, 0, 0
	local function finish(ok)
		wrong = wrong + (ok and 0 or 1)
		ended = ended + 1
		if ended == TOTAL or ended == TOTAL + WAITING then
			wisp.wakeup(me)
		end
	end
	call_all(silent, 1, TOTAL, function() return due - wisp.now() end,
		function(_, ok, err)
			local now = wisp.now()
			first, last = math.min(first, now), math.max(last, now)
			finish(not ok and err:find("timed out", 1, true))
		end)
	local waiting = {}
	call_all(silent, TOTAL + 1, TOTAL + WAITING, function() return 600000 end,
		function(id, ok, answer) finish(ok and answer == id) end)
	assert(wisp.now() < due, "making the calls took over " .. LEAD_MS .. " ms")
	while ended < TOTAL do
		wisp.wait()
	end
	for id = TOTAL + 1, TOTAL + WAITING do
		waiting[#waiting + 1] = id
	end
	wisp.call(silent, "answer", waiting)
	while ended < TOTAL + WAITING do
		wisp.wait()
	end
	assert(wrong == 0, wrong .. " calls did not end as they should")
	wisp.call(silent, "drop")
	return last - first
end

wisp.start(function()
	local silent = wisp.newservice("silent")
	local best = math.huge
	for _ = 1, ROUNDS do
		best = math.min(best, round(silent))
	end
	bench.report("call_timeout_100k_ms", best, "ms")
	bench.done()
end)
