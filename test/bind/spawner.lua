-- spawner.lua: starts agents on its node for the login service on game1:
-- a call "new" answers with the new agent's handle.
local wisp = require "wisp"

wisp.start(function()
	wisp.register("spawner")
	wisp.dispatch("lua", function(_, what)
		assert(what == "new", "spawner: unknown request")
		return wisp.newservice("agent")
	end)
	wisp.log("READY spawner")
end)
