-- caller.lua: game2's service in the master test. Every 100 ms it calls
-- "pinger" by its cluster-wide name and logs "CALL OK n token" (the token
-- of the run of game1 that answered) or "CALL FAIL n: why"; n counts the
-- calls. It is also the chatty node whose log the master rotates.
local wisp = require "wisp"

wisp.start(function()
	wisp.fork(function()
		for n = 1, math.maxinteger do
			local ok, token = pcall(wisp.call, "pinger", "ping")
			if ok then
				wisp.log(string.format("CALL OK %d %s", n, token))
			else
				wisp.log(string.format("CALL FAIL %d: %s", n, tostring(token)))
			end
			wisp.sleep(100)
		end
	end)
end)
