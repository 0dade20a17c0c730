-- call_timeout_100k_ms.lua: 100,000 calls, each in its own task, to a
-- service that never answers, all due at the same millisecond, while
-- 10,000 later calls keep waiting (a timeout must not walk past them);
-- the figure is the time from the first timeout to the last, best of
-- three rounds.
local wisp = require "wisp"
local bench = require "bench"
local calls = require "silent_calls"

local TOTAL, WAITING, ROUNDS = 100000, 10000, 3
-- every call is made within this, so that they share one deadline
local LEAD_MS = 3000

local function round(silent)
	collectgarbage() -- not the garbage of the round before
	local timing_out = calls.range(1, TOTAL)
	local waiting = calls.range(TOTAL + 1, TOTAL + WAITING)
	local due = wisp.now() + LEAD_MS
	local me, first, last, ended, wrong = coroutine.running(), math.huge, 0, 0, 0
	local function finish(ok)
		wrong = wrong + (ok and 0 or 1)
		ended = ended + 1
		if ended == TOTAL or ended == TOTAL + WAITING then
			wisp.wakeup(me)
		end
	end
	calls.call_all(silent, timing_out, function() return due - wisp.now() end,
		function(_, ok, err)
			local now = wisp.now()
			first, last = math.min(first, now), math.max(last, now)
			finish(not ok and err:find("timed out", 1, true))
		end)
	calls.call_all(silent, waiting, function() return 600000 end,
		function(id, ok, answer) finish(ok and answer == id) end)
	assert(wisp.now() < due, "making the calls took over " .. LEAD_MS .. " ms")
	while ended < TOTAL do
		wisp.wait()
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
