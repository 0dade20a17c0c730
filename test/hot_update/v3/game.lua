-- game.lua, version 3, which does not compile (its game_util.lua does): a
-- reload must fail naming the syntax error, and change nothing.
local wisp = require "wisp"
require "game_util" -- by the main chunk, so that a reload compiles it again

local VERSION = = 3 -- the syntax error
local PLAY = 1

local state = wisp.keep("state", { count = 0 })

wisp.command(PLAY, function()
	state.count = state.count + 1
	-- looked up at each request: the module package.loaded holds answers,
	-- so a failed reload must have put the old one back
	return require("game_util").reply(VERSION, state.count)
end)
