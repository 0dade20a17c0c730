-- lobby.lua: the game node's lobby, the net node's gate.events: it keeps
-- what it heard of each conn, and command 1100 (body: a conn in decimal)
-- answers with that, one line per event: "connect ADDRESS",
-- "disconnect REASON".
local wisp = require "wisp"

local EVENTS = 1100

local heard = {} -- conn -> { event, ... }

local function note(conn, event)
	local list = heard[conn] or {}
	list[#list + 1] = event
	heard[conn] = list
end

wisp.start(function()
	wisp.register("lobby")
	wisp.on_connect(function(conn, address)
		note(conn, "connect " .. address)
	end)
	wisp.on_disconnect(function(conn, reason)
		note(conn, "disconnect " .. reason)
	end)
	wisp.command(EVENTS, function(_, conn)
		return table.concat(heard[tonumber(conn)] or {}, "\n")
	end)
	wisp.log("READY lobby")
end)
