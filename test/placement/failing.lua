-- failing.lua: a service whose start raises.
local wisp = require "wisp"

wisp.start(function()
	error("cannot start: on purpose", 0)
end)
