-- game_util.lua, version 2: the module game.lua requires. The reply
-- names both versions when they differ, so that a reload that skipped the
-- module (or the script) shows in the replies.
local VERSION = 2

local function reply(game_version, count)
	if game_version ~= VERSION then
		return string.format("mixed: game v%d, game_util v%d", game_version,
			VERSION)
	end
	return string.format("v%d %d", VERSION, count)
end

return { reply = reply }
