-- ticker.lua: logs a line four times a second, a place that logs rarely
-- and must never be held back; "stop" ends it and answers how many.
local wisp = require "wisp"
local ticks, running = 0, true

wisp.start(function()
	wisp.fork(function()
		while running do
			ticks = ticks + 1
			wisp.log("tick", ticks)
			wisp.sleep(250)
		end
	end)
	wisp.dispatch("lua", function()
		running = false
		return ticks
	end)
end)
