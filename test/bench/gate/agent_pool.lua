-- agent_pool.lua: starts agents on its node for agent_front.lua: the call
-- ("spawn", n) answers with the handles of n new agent_echo services.
local wisp = require "wisp"

wisp.start(function()
	wisp.register("pool")
	wisp.dispatch("lua", function(_, what, n)
		assert(what == "spawn", "pool: unknown request")
		local agents = {}
		for i = 1, n do
			agents[i] = wisp.newservice("agent_echo")
		end
		return agents
	end)
end)
