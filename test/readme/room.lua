-- room.lua: the game node's service in the README's console session: a
-- name to be seen, and an echo for the clients of command 1000.
local wisp = require "wisp"

wisp.start(function()
	wisp.register("room")
	wisp.command(1000, function(conn, body)
		return body
	end)
end)
