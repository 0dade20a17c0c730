-- login.lua: logs a client in (commands 10, and 20 whose route is not
-- ordered): it takes a while (a lookup, say), then tells the world.
local wisp = require "wisp"

local LOGIN_MS = 300

local function login(conn, name)
	wisp.sleep(LOGIN_MS)
	wisp.call("world", "login", conn)
	return "welcome " .. name
end

wisp.start(function()
	wisp.register("login")
	wisp.command(10, login)
	wisp.command(20, login)
end)
