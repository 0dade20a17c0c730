-- flow_front.lua: the service behind the gate of test_gate_flow.c. HOLD
-- handlers wait until RELEASE wakes them, in the order they came (so
-- their replies keep the order of the frames), counting how many run at
-- once; the others answer at once, answer nothing, raise, or never
-- answer. STATS says what it counted and what the gate counts.
local wisp = require "wisp"
local admin = require "wisp.admin"

-- Client commands, as test_gate_flow.c numbers them.
local ECHO, HOLD, QUIET, FAIL, HANG, RELEASE, STATS = 1, 2, 3, 4, 5, 6, 7

local holding = true
local held = {}           -- the tasks of the HOLD handlers waiting, in order
local active, most = 0, 0 -- HOLD handlers running now, and at most
local quiet = 0           -- QUIET commands handled

local function hold(_, body)
	active = active + 1
	most = math.max(most, active)
	if holding then
		held[#held + 1] = coroutine.running()
		wisp.wait()
	end
	active = active - 1
	return body
end

local function release()
	holding = false
	for _, task in ipairs(held) do
		wisp.wakeup(task)
	end
	held = {}
	return "released"
end

local function stats()
	local g = admin.gate()
	return string.format("most %d quiet %d in_flight %d throttled %d "
		.. "bytes_in %d timed_out %d handler_failed %d unrouted %d",
		most, quiet, g.in_flight, g.throttled, g.bytes_in, g.timed_out,
		g.handler_failed, g.unrouted)
end

wisp.start(function()
	wisp.register("flow_front")
	wisp.command(ECHO, function(_, body) return body end)
	wisp.command(HOLD, hold)
	wisp.command(QUIET, function()
		quiet = quiet + 1
	end)
	wisp.command(FAIL, function(_, body)
		error("flow_front failed on purpose: " .. body)
	end)
	wisp.command(HANG, function()
		wisp.wait() -- nobody wakes it: the gate's reply_timeout ends it
	end)
	wisp.command(RELEASE, release)
	wisp.command(STATS, stats)
end)
