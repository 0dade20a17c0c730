-- bad_start.lua: a service whose start fails.
local wisp = require "wisp"
wisp.start(function()
	error("cannot start")
end)
