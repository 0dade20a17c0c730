-- game.lua, version 3 again, this time valid, with a game_util.lua that
-- does not compile: the reload compiles this script first, then fails on
-- the module, and must put this script's old code back too.
local wisp = require "wisp"
require "game_util" -- by the main chunk, so that a reload compiles it again

local VERSION = 3
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
end)
