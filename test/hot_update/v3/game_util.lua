-- game_util.lua, version 3: valid, but its game.lua does not compile, so
-- a reload must not take it either.
local VERSION = 3

local function reply(game_version, count)
	if game_version ~= VERSION then
		return string.format("mixed: game v%d, game_util v%d", game_version,
			VERSION)
	end
	return string.format("v%d %d", VERSION, count)
end

return { reply = reply }
