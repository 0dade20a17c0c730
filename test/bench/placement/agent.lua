-- agent.lua: a player's agent in the agent_login benchmark: started by
-- login.lua on a game node for one connection, it serves that
-- connection's command 102 (an echo) and ends at "bye".
local wisp = require "wisp"

wisp.start(function()
	wisp.dispatch("lua", function(_, op)
		if op == "bye" then
			wisp.exit()
		end
	end)
	wisp.command(102, function(_, body)
		return body
	end)
end)
