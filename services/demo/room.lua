-- demo/room.lua: the demo game's rooms (the lobby in conf/demo.lua). The
-- players' agents (demo.agent, on the game nodes) put clients in and take
-- them out ("enter", "leave"), as demo.login does when a client goes, and
-- tell of their moves ("move"), which go to everyone in the mover's room
-- as MOVED; chat (104) comes here straight from the gate and goes to
-- everyone in the room as SAID, the speaker included. Rooms live in wisp.keep, so a hot
-- update of this code keeps everyone where they are.
local wisp = require "wisp"
local protocol = require "demo.protocol"

-- name -> { conns = { conn, ... }, at = { [conn] = index in conns } }:
-- conns is the list wisp.multicast takes
local rooms = wisp.keep("rooms", {})
-- conn -> { room = name, name = the player's name }
local members = wisp.keep("members", {})

local function remove(conn)
	local m = members[conn]
	if not m then
		return
	end
	members[conn] = nil
	local r = rooms[m.room]
	local i, last = r.at[conn], r.conns[#r.conns]
	r.conns[i], r.at[last] = last, i -- the last fills the gap
	r.conns[#r.conns], r.at[conn] = nil, nil
	if #r.conns == 0 then
		rooms[m.room] = nil
	end
end

-- Puts conn in room (out of any other); returns how many are in it now.
local function add(conn, room, name)
	remove(conn)
	local r = rooms[room]
	if not r then
		r = { conns = {}, at = {} }
		rooms[room] = r
	end
	r.conns[#r.conns + 1] = conn
	r.at[conn] = #r.conns
	members[conn] = { room = room, name = name }
	return #r.conns
end

local requests = {
	enter = add,
	leave = remove,
	move = function(conn, x, y)
		local m = members[conn]
		if m then
			wisp.multicast(rooms[m.room].conns, protocol.MOVED,
				protocol.moved(m.name, x, y))
		end
	end,
}

wisp.dispatch("lua", function(_, what, ...)
	local request = requests[what]
	if not request then
		error("demo.room: unknown request " .. tostring(what))
	end
	return request(...)
end)

wisp.command(protocol.CHAT, function(conn, body)
	local m = members[conn]
	if not m then
		return protocol.error("not in a room")
	end
	local text = protocol.text(body)
	if not text then
		return protocol.error(protocol.BAD_TEXT)
	end
	wisp.multicast(rooms[m.room].conns, protocol.SAID,
		protocol.said(m.name, text))
end)

wisp.start(function()
	wisp.register("room")
	wisp.log("demo: room ready")
end)
