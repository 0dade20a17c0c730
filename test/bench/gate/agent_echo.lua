-- agent_echo.lua: a client's agent in the gate_agent_echo benchmark:
-- command 1 echoes its body.
local wisp = require "wisp"

wisp.start(function()
	wisp.command(1, function(_, body)
		return body
	end)
end)
