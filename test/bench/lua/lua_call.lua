-- lua_call.lua: serial call round trips between two services.
local wisp = require "wisp"
local bench = require "bench"

local TOTAL = 300000

wisp.start(function()
	local counter = wisp.newservice("counter")
	local call = wisp.call
	local started = wisp.now()
	for i = 1, TOTAL do
		call(counter, "echo", i)
	end
	bench.rate("lua_call", TOTAL, started, "calls/s")
	bench.done()
end)
