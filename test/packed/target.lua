-- target.lua: the Lua service of the packed test: tells the C service
-- forger to go, logs each Lua message it is given, and answers a text
-- "ping" with "alive".
local wisp = require "wisp"

wisp.start(function()
	wisp.dispatch("lua", function(source, ...)
		wisp.log("a lua message from", wisp.address(source), "of",
			select("#", ...), "values:", ...)
	end)
	wisp.dispatch("text", function(source, text)
		if text == "ping" then
			wisp.rawsend(source, "text", "alive")
		end
	end)
	wisp.rawsend("forger", "text", "go")
end)
