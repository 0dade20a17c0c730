-- holder.lua: game2's service in the authority test: it holds the
-- cluster-wide name "holder" and answers any call with its handle.
local wisp = require "wisp"

wisp.start(function()
	wisp.dispatch("lua", function()
		return wisp.self()
	end)
	wisp.register_global("holder")
	wisp.log("READY holder")
end)
