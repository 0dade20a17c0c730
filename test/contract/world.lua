-- world.lua: moves only the clients login.lua has logged in (commands 11,
-- and 21 whose route is not ordered).
local wisp = require "wisp"

local logged = {} -- conn -> true

local function move(conn, body)
	if not logged[conn] then
		return "not logged in"
	end
	return "moved " .. body
end

wisp.start(function()
	wisp.register("world")
	wisp.dispatch("lua", function(_, what, conn)
		assert(what == "login")
		logged[conn] = true
	end)
	wisp.command(11, move)
	wisp.command(21, move)
end)
