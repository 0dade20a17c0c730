-- lua_send.lua: one service sends 1,000,000 small messages to another,
-- which counts them.
local wisp = require "wisp"
local bench = require "bench"

local TOTAL, BATCH = 1000000, 10000

wisp.start(function()
	local counter = wisp.newservice("counter")
	local send = wisp.send
	local started = wisp.now()
	for i = 1, TOTAL do
		send(counter, "ping", i)
		if i % BATCH == 0 then
			wisp.sleep(0) -- let the counter drain its mailbox
		end
	end
	assert(wisp.call(counter, "count") == TOTAL)
	bench.rate("lua_send", TOTAL, started, "msg/s")
	bench.done()
end)
