-- rogue.lua: a node that holds the wrong cluster secret. It calls game2
-- and logs how the call ended, for test_cluster.c to check that the
-- cluster refused it, then stops.
local wisp = require "wisp"

wisp.start(function()
	wisp.fork(function()
		local ok, err = pcall(wisp.call_timeout, 5000, "pong@game2", "ping")
		if ok then
			wisp.log("ROGUE CALL ANSWERED")
		else
			wisp.log("ROGUE CALL FAILED: " .. tostring(err))
		end
		wisp.shutdown(0)
	end)
end)
