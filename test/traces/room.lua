-- room.lua: game1's service for test_traces.c. Command 1000 asks slowdb
-- on the db node, which takes 300 ms (a slow call); 1001 answers at once.
local wisp = require "wisp"

wisp.start(function()
	wisp.register("room")
	wisp.command(1000, function(_, body)
		wisp.log("room asks slowdb for " .. body)
		local answer = wisp.call("slowdb@db", body)
		wisp.log("room got " .. answer)
		return answer
	end)
	wisp.command(1001, function(_, body)
		wisp.log("room answers " .. body .. " at once")
		return body
	end)
	wisp.log("READY room")
end)
