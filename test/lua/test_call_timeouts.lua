-- test_call_timeouts.lua: many calls waiting at once, each in its own
-- task: every one ends with its answer or its timeout, never early, in
-- the order of their deadlines, however answers and new calls interleave
-- with the timeouts; and the node keeps answering meanwhile.
local wisp = require "wisp"
local t = require "testing"
local calls = require "silent_calls"

local silent = wisp.newservice("silent")
local pong = wisp.newservice("pong")

-- pong's "relay" calls this service back while its calls wait
wisp.dispatch("lua", function(_, cmd, v)
	if cmd == "echo" then
		return v
	end
end)

local function timed_out(ok, err, ms)
	return not ok and tostring(err):find("call to :%x+ timed out after "
		.. ms .. " ms") ~= nil
end

t.case("100,000 calls to a service that never answers all time out", function()
	local N, TIMEOUT = 100000, 3000
	-- each waiting call holds a task (about 1.5 KB): far more than a
	-- service would normally be allowed, whatever the config says
	wisp.memory_limit(0)
	local me = coroutine.running()
	local started, ended, wrong, early = {}, 0, 0, 0
	local first, last, pinged_at = math.huge, 0, nil
	local function done(id, ok, err)
		local now = wisp.now()
		first, last = math.min(first, now), math.max(last, now)
		if not timed_out(ok, err, TIMEOUT) then
			wrong = wrong + 1
		end
		if now - started[id] < TIMEOUT then
			early = early + 1
		end
		ended = ended + 1
		if ended == 1 then -- the node answers while the rest time out
			wisp.call(pong, "ping")
			pinged_at = ended
		end
		if ended == N then
			wisp.wakeup(me)
		end
	end
	calls.call_all(silent, calls.range(1, N), function(id)
		started[id] = wisp.now()
		return TIMEOUT
	end, done)
	t.eq(wisp.call(silent, "sync"), N, "calls held by silent")
	wisp.log("100,000 calls wait; this service's memory: "
		.. wisp.stats().memory // 1024 .. " KB")
	-- the node, and this very service, answer while they wait
	t.eq(wisp.call(pong, "ping"), "pong")
	t.eq(wisp.call(pong, "relay", wisp.self(), "echo", 7), 7)
	while ended < N do
		wisp.wait()
	end
	t.eq(wrong, 0, "calls that did not time out as they should")
	t.eq(early, 0, "calls that timed out early")
	t.ok(pinged_at and pinged_at < N, "a call made at the first timeout was "
		.. "answered before the last (at " .. tostring(pinged_at) .. ")")
	-- not the benchmark's figure: a bound that only quadratic work breaks
	t.ok(last - first < 10000, "first to last timeout: " .. (last - first)
		.. " ms")
	t.eq(wisp.call(pong, "relay", wisp.self(), "echo", 8), 8, "right after")
	-- silent lets the calls go: the late errors find nobody waiting
	wisp.call(silent, "drop")
	t.eq(wisp.call(pong, "ping"), "pong")
	t.eq(ended, N, "no call ended twice")
end)

t.case("calls with shorter timeouts end first", function()
	-- interleaved as they are made; far enough apart that how long making
	-- them takes does not matter
	local TIMEOUTS = { 2400, 800, 1600, 100 }
	local ids = calls.range(200001, 204000)
	local me, order, started = coroutine.running(), {}, {}
	local wrong, early = 0, 0
	local function timeout_of(id)
		started[id] = wisp.now()
		return TIMEOUTS[id % #TIMEOUTS + 1]
	end
	calls.call_all(silent, ids, timeout_of, function(id, ok, err)
		local ms = TIMEOUTS[id % #TIMEOUTS + 1]
		if not timed_out(ok, err, ms) then
			wrong = wrong + 1
		end
		if wisp.now() - started[id] < ms then
			early = early + 1
		end
		order[#order + 1] = ms
		if #order == #ids then
			wisp.wakeup(me)
		end
	end)
	while #order < #ids do
		wisp.wait()
	end
	t.eq(wrong, 0, "calls that did not time out as they should")
	t.eq(early, 0, "calls that timed out early")
	for i = 2, #order do
		if order[i] < order[i - 1] then
			error(string.format("a %d ms call ended after a %d ms one (#%d)",
				order[i], order[i - 1], i))
		end
	end
	wisp.call(silent, "drop")
end)

-- Odd calls are answered soon after they are made, well before their
-- deadline; even ones time out, and some of those call again as they
-- time out (one answered, one that times out in turn). Timeouts are mixed,
-- so answers take calls from anywhere in the heap.
t.case("answered calls never time out, however adds and removes interleave",
		function()
	local N = 20000
	math.randomseed(12)
	local timeouts = {}
	for id = 1, N do
		timeouts[id] = 2000 + math.random(0, 2000)
	end
	local me, ended, wrong, again, again_wrong = coroutine.running(), 0, 0, 0, 0
	local function finish()
		ended = ended + 1
		if ended == N + again then
			wisp.wakeup(me)
		end
	end
	local function done(id, ok, result)
		if id % 2 == 1 then
			if not ok or result ~= id then
				wrong = wrong + 1
			end
		elseif not timed_out(ok, result, timeouts[id]) then
			wrong = wrong + 1
		elseif id % 4 == 0 then -- a call that is answered
			again = again + 1
			if wisp.call_timeout(5000, pong, "ping") ~= "pong" then
				again_wrong = again_wrong + 1
			end
			finish()
		elseif id % 8 == 2 then -- a call that times out in a later pass
			again = again + 1
			local ok, err = pcall(wisp.call_timeout, 50, silent, "hold", id + N)
			if not timed_out(ok, err, 50) then
				again_wrong = again_wrong + 1
			end
			finish()
		end
		finish()
	end
	local BATCH = 1000
	for b = 1, N, BATCH do
		calls.call_all(silent, calls.range(b, b + BATCH - 1),
			function(id) return timeouts[id] end, done)
		local odd = {}
		for id = b, b + BATCH - 1, 2 do
			odd[#odd + 1] = id
		end
		wisp.call(silent, "answer", odd)
	end
	while ended < N + again or again < N // 4 + N // 8 do
		wisp.wait()
	end
	t.eq(wrong, 0, "calls that did not end as they should")
	t.eq(again_wrong, 0, "calls made as others timed out that did not end "
		.. "as they should")
	-- answers to calls that timed out long ago are dropped
	local even = {}
	for id = 2, N, 2 do
		even[#even + 1] = id
	end
	wisp.call(silent, "answer", even)
	t.eq(wisp.call(pong, "ping"), "pong")
	t.eq(ended, N + again, "no call ended twice")
	wisp.call(silent, "drop")
end)

t.run()
