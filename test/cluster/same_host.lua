-- same_host.lua: game1 in the same-host transport test (test_same_host.c).
-- On each "CALL" round it calls pong@game2 and logs how that ended; the
-- driver kills game2 in the middle of a slow call to see how soon the
-- call fails, and starts it again with or without its Unix socket (then
-- it creates the gate file tcp.ready).
local wisp = require "wisp"
local t = require "testing"

local function call_logged(label, ...)
	local started = wisp.now()
	local ok, got = pcall(wisp.call, "pong@game2", ...)
	wisp.log(string.format("%s %s after %d ms: %s", label,
		ok and "ANSWERED" or "FAILED", wisp.now() - started, tostring(got)))
	return ok
end

-- Waits until game2 answers (it may be restarting), at most 30 s.
local function until_answered()
	for _ = 1, 300 do
		local ok = pcall(wisp.call_timeout, 1000, "pong@game2", "ping")
		if ok then
			return true
		end
		wisp.sleep(100)
	end
	return false
end

wisp.start(function()
	wisp.fork(function()
		assert(until_answered(), "game2 never answered")
		call_logged("PING", "ping")
		call_logged("SLOW", "slow", 600000) -- the driver kills game2
		assert(until_answered(), "game2 never came back")
		call_logged("PING AGAIN", "ping")
		-- the driver restarts game2 without its Unix socket
		t.ask_driver("WAITING FOR TCP", "tcp.ready")
		assert(until_answered(), "game2 never came back over TCP")
		call_logged("PING TCP", "ping")
		wisp.shutdown(0)
	end)
end)
