-- room.lua: the game node's service in test_console.c: it answers client
-- command 1000 with the body it got, through the net node's gate.
local wisp = require "wisp"

local ECHO = 1000

wisp.start(function()
	wisp.register("room")
	wisp.command(ECHO, function(_, body)
		return body
	end)
	wisp.log("READY room")
end)
