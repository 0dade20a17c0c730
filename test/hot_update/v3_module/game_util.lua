-- game_util.lua, version 3, which does not compile: its table is never
-- closed.
local VERSION = 3

local function reply(game_version, count)
	return string.format("v%d %d", VERSION, count)
end

return { reply = reply
