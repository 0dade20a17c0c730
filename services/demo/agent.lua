-- demo/agent.lua: one player's agent, on a game node of conf/demo.lua:
-- started by demo.login with (conn, account), it loads the account's row
-- from the db role (made at its first login, one more login counted) and
-- serves the client's enters (102) and moves (103), which the gate sends
-- here straight once demo.login has bound the client to it. The row is
-- saved before each reply, so that what a client was told is there when
-- it logs in again, on whatever node. The rooms are demo.room's, on
-- another node: the config's env demo_room names it. The agent leaves
-- its room and exits when its client disconnects, or demo.login says
-- "bye" (the client logged in elsewhere, or went during the login).
local wisp = require "wisp"
local db = require "wisp.db"
local protocol = require "demo.protocol"

local conn, account = ...
local players = db.table("player", { pk = "account" })
local rooms = wisp.getenv("demo_room") or "room"
local row -- the player as the db holds it

local function load_row()
	local r = players.get(account)
	if not r then
		local ok, made = pcall(players.new, { account = account,
			name = account, created = os.time() })
		-- a login of the same account on another client may have made it
		r = ok and made or players.get(account)
		if not r then
			error(made, 0)
		end
	end
	r.logins = players.incr(account, "logins", 1)
	return r
end

local function enter(_, body)
	local room = protocol.name(body)
	if not room then
		return protocol.error(protocol.BAD_NAME)
	end
	local members = wisp.call(rooms, "enter", conn, room, row.name)
	players.update(account, { room = room })
	row.room = room
	return protocol.enter_reply(room, members)
end

-- Saved first: the room sees only moves that will be there after a
-- restart.
local function move(_, body)
	local x, y = protocol.position(body)
	if not x then
		return protocol.error(protocol.BAD_POSITION)
	end
	players.update(account, { x = x, y = y })
	row.x, row.y = x, y
	wisp.send(rooms, "move", conn, x, y) -- a client in no room: ignored
	return protocol.move_reply(x, y)
end

-- Sent even with no room known: an enter may be on its way there.
local function leave()
	wisp.send(rooms, "leave", conn)
	wisp.exit()
end

local requests = {
	welcome = function(node) -- demo.login's reply to the client
		return protocol.login_reply(row, node)
	end,
	alive = function()
		return true
	end,
	bye = leave,
}

wisp.start(function()
	row = load_row()
	wisp.dispatch("lua", function(_, what, ...)
		local request = requests[what]
		if not request then
			error("demo.agent: unknown request " .. tostring(what))
		end
		return request(...)
	end)
	wisp.command(protocol.ENTER, enter)
	wisp.command(protocol.MOVE, move)
	wisp.on_disconnect(leave)
end)
