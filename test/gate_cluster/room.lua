-- room.lua: the game node's room, serving commands 1000..1099 that the
-- net node's gate routes here. A client joins under a name; the other
-- commands push, multicast, broadcast and kick by those names, or answer
-- the client, at once or after a sleep (test_gate_cluster.c plays the
-- clients).
local wisp = require "wisp"

local JOIN, ECHO, SLOW_ECHO = 1001, 1002, 1003
local PUSH, MULTICAST, BROADCAST, KICK = 1004, 1005, 1006, 1007
local PUSHED, MULTICASTED, BROADCASTED = 2001, 2002, 2003
local SLOW_MS = 300

local members = {} -- name -> conn

local function member(name)
	return assert(members[name], "no member named " .. name)
end

wisp.start(function()
	wisp.register("room")
	-- the reply tells the client the conn the game node knows it by
	wisp.command(JOIN, function(conn, name)
		members[name] = conn
		return name .. " " .. conn
	end)
	wisp.command(ECHO, function(_, body)
		return body
	end)
	-- other clients' commands are served while this one sleeps
	wisp.command(SLOW_ECHO, function(_, body)
		wisp.sleep(SLOW_MS)
		return body
	end)
	wisp.command(PUSH, function(_, name)
		wisp.push(member(name), PUSHED, "to " .. name)
	end)
	wisp.command(MULTICAST, function(_, names)
		local conns = {}
		for name in names:gmatch("%S+") do
			conns[#conns + 1] = member(name)
		end
		wisp.multicast(conns, MULTICASTED, "to " .. names)
	end)
	wisp.command(BROADCAST, function(_, body)
		wisp.broadcast(BROADCASTED, body)
	end)
	wisp.command(KICK, function(_, name)
		wisp.kick(member(name), "by the room")
	end)
	wisp.log("READY room")
end)
