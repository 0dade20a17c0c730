-- game.lua, version 2, reloaded while the clients play: the service
-- test_hot_update.c reloads. Command 1 adds one to a count kept across
-- reloads (wisp.keep) and answers "v2 COUNT" through game_util, reloaded
-- with it. The handler is registered by the main chunk, which a reload
-- runs again, not in wisp.start, which it does not.
local wisp = require "wisp"
require "game_util" -- by the main chunk, so that a reload compiles it again

local VERSION = 2
local PLAY = 1

local state = wisp.keep("state", { count = 0 })

wisp.command(PLAY, function()
	state.count = state.count + 1
	-- looked up at each request: the module package.loaded holds answers,
	-- so a failed reload must have put the old one back
	return require("game_util").reply(VERSION, state.count)
end)

wisp.start(function()
	wisp.register("game")
	wisp.log("game: started")
end)
