-- game.lua: the game node's service: an echo (40), a handler that sleeps
-- for a minute, for commands in flight when the node is stopped or killed
-- (41), and how many of those are sleeping now (42).
local wisp = require "wisp"

local ECHO, SLEEP, SLEEPING = 40, 41, 42
local sleeping = 0

wisp.start(function()
	wisp.register("game")
	wisp.command(ECHO, function(_, body) return body end)
	wisp.command(SLEEP, function()
		sleeping = sleeping + 1
		wisp.sleep(60000)
		sleeping = sleeping - 1
		return "woke"
	end)
	wisp.command(SLEEPING, function() return sleeping end)
	wisp.log("READY game")
end)
