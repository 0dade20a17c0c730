-- flood.lua: floods the log in the way its argument names, then logs
-- "flood done" with how many lines it tried, how long it took and how
-- many lines ticker.lua logged meanwhile; test_logflood.c counts what
-- reached the log.
local wisp = require "wisp"
local flood = ...

local floods = {}

-- One line 100,000 times, in ten runs 200 ms apart, then another line.
function floods.repeated()
	for i = 1, 100000 do
		wisp.log("flood line", i)
		if i % 10000 == 0 then
			wisp.sleep(200)
		end
	end
	wisp.log("distinct line")
	return 100000
end

-- A handler that raises, 50,000 times.
function floods.errors()
	local target = wisp.newservice("target")
	for i = 1, 50000 do
		pcall(wisp.call, target, "fail", i)
	end
	return 50000
end

-- 100,000 messages of a type the target has no handler for: each is a
-- warning from the Lua host's C code.
function floods.unhandled()
	local target = wisp.newservice("target")
	for _ = 1, 100 do
		for _ = 1, 1000 do
			wisp.rawsend(target, "text", "?")
		end
		wisp.call(target, "ping") -- the batch is handled: no mailbox fills
	end
	return 100000
end

-- As many places as a chunk of 2,000 lines has, each logging once a pass,
-- for 2 s: flood control per place lets them all through, so only the
-- node's log_rate holds them.
function floods.places()
	local lines = { "local log = ..." }
	for i = 1, 2000 do
		lines[#lines + 1] = "log('distinct place', " .. i .. ")"
	end
	local chunk = assert(load(table.concat(lines, "\n"), "=places", "t"))
	local start, tried = wisp.now(), 0
	repeat
		chunk(wisp.log)
		tried = tried + 2000
		wisp.sleep(0)
	until wisp.now() - start >= 2000
	return tried
end

local function run()
	local ticker = flood ~= "places" and wisp.newservice("ticker")
	local start = wisp.now()
	local tried = floods[flood]()
	local ms = wisp.now() - start
	local ticks = ticker and wisp.call(ticker, "stop") or 0
	if flood == "places" then
		wisp.sleep(3000) -- the node's budget fills up again for the last line
	end
	wisp.log(string.format("flood done: tried=%d ms=%d ticks=%d", tried, ms,
		ticks))
end

wisp.start(function()
	wisp.fork(run)
end)
