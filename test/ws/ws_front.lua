-- ws_front.lua: the service test_ws.py's clients talk to, over TCP and
-- WebSocket alike: 1 echoes, 2 pushes the body back as command 3 before
-- its reply, 4 broadcasts the body as command 5, 6 answers the address
-- the connect event gave.
local wisp = require "wisp"

local address = {}

wisp.start(function()
	wisp.register("front")
	wisp.on_connect(function(conn, addr) address[conn] = addr end)
	wisp.on_disconnect(function(conn) address[conn] = nil end)
	wisp.command(1, function(_, body) return body end)
	wisp.command(2, function(conn, body)
		wisp.push(conn, 3, body)
		return "pushed"
	end)
	wisp.command(4, function(_, body)
		wisp.broadcast(5, body)
		return "broadcast"
	end)
	wisp.command(6, function(conn) return tostring(address[conn]) end)
end)
