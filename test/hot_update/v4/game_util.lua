-- game_util.lua, version 4: valid; it is required again by a main chunk
-- that then fails, so the reload must put version 2 back.
local VERSION = 4

local function reply(game_version, count)
	if game_version ~= VERSION then
		return string.format("mixed: game v%d, game_util v%d", game_version,
			VERSION)
	end
	return string.format("v%d %d", VERSION, count)
end

return { reply = reply }
