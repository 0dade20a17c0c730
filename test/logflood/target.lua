-- target.lua: what flood.lua floods: a handler that raises, and no
-- handler for text messages.
local wisp = require "wisp"

wisp.start(function()
	wisp.dispatch("lua", function(_, command, n)
		if command == "fail" then
			error("deliberate failure " .. n)
		end
		return "pong"
	end)
end)
