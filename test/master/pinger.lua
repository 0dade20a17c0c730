-- pinger.lua: game1's service in the master test. It claims the
-- cluster-wide name "pinger" and answers each ping with a token drawn at
-- its start, so that the caller's log tells one run of game1 from the
-- next.
local wisp = require "wisp"

local token = string.format("%d-%d", os.time(), math.random(1, 1 << 30))

wisp.start(function()
	wisp.dispatch("lua", function(_, cmd)
		if cmd ~= "ping" then
			error("pinger: unknown command " .. tostring(cmd))
		end
		return token
	end)
	wisp.register_global("pinger")
	wisp.log("READY pinger " .. token)
end)
