-- game.lua, version 4: compiles, registers a new handler for command 1,
-- then raises at the end of its main chunk. The reload must fail with that
-- error, and version 2's handler (and module) must be put back.
local wisp = require "wisp"
require "game_util" -- by the main chunk, so that a reload compiles it again

local VERSION = 4
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

error("version 4 fails on purpose")
