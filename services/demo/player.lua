-- demo/player.lua: the demo game's players (game1 in conf/demo.lua):
-- login (101), enter a room (102) and move (103), each player's row kept
-- by the db role (table player, services/demo/migrations/). As the gate's
-- gate.events service it hears when a client goes, and takes it out of
-- its room. Rooms and chat are demo.room's, which may be on another node:
-- the config's env demo_room names it. Who is logged in lives in
-- wisp.keep, so a hot update of this code keeps every player playing.
local wisp = require "wisp"
local db = require "wisp.db"
local protocol = require "demo.protocol"

local players = db.table("player", { pk = "account" })
local rooms = wisp.getenv("demo_room") or "room"

-- conn -> { account, name, room, x, y }: the clients logged in
local sessions = wisp.keep("sessions", {})
-- account -> conn: the client playing each account
local playing = wisp.keep("playing", {})
-- conn -> a token of the login under way on it, dropped if the client goes
local logging_in = wisp.keep("logging_in", {})

-- The account's row, made at its first login, with one more login counted.
local function load_row(account)
	local row = players.get(account)
	if not row then
		local ok, made = pcall(players.new, { account = account,
			name = account, created = os.time() })
		-- a login of the same account on another client may have made it
		row = ok and made or players.get(account)
		if not row then
			error(made, 0)
		end
	end
	row.logins = players.incr(account, "logins", 1)
	return row
end

-- Forgets conn's session, if it has one, and takes it out of its room.
local function leave(conn)
	local s = sessions[conn]
	if s then
		sessions[conn] = nil
		if playing[s.account] == conn then
			playing[s.account] = nil
		end
	end
	logging_in[conn] = nil
	-- sent even with no room known: an enter may be on its way there
	wisp.send(rooms, "leave", conn)
end

local function start_session(conn, row)
	local other = playing[row.account]
	if other then -- one client per account: the newest
		wisp.kick(other, "the account logged in on another connection")
		leave(other)
	end
	sessions[conn] = { account = row.account, name = row.name, x = row.x,
		y = row.y }
	playing[row.account] = conn
end

local function login(conn, body)
	local account = protocol.name(body)
	if not account then
		return protocol.error(protocol.BAD_NAME)
	end
	if sessions[conn] or logging_in[conn] then
		return protocol.error("already logged in")
	end
	local token = {}
	logging_in[conn] = token
	local ok, row = pcall(load_row, account)
	if logging_in[conn] ~= token then
		return nil -- the client went meanwhile
	end
	logging_in[conn] = nil
	if not ok then
		error(row, 0)
	end
	start_session(conn, row)
	return protocol.login_reply(row)
end

local function enter(conn, body)
	local s = sessions[conn]
	if not s then
		return protocol.error("not logged in")
	end
	local room = protocol.name(body)
	if not room then
		return protocol.error(protocol.BAD_NAME)
	end
	local members = wisp.call(rooms, "enter", conn, room, s.name)
	s.room = room
	players.update(s.account, { room = room })
	return protocol.enter_reply(room, members)
end

-- Saved first: the room sees only moves that will be there after a
-- restart.
local function move(conn, body)
	local s = sessions[conn]
	if not s then
		return protocol.error("not logged in")
	end
	local x, y = protocol.position(body)
	if not x then
		return protocol.error(protocol.BAD_POSITION)
	end
	players.update(s.account, { x = x, y = y })
	s.x, s.y = x, y
	if s.room then
		wisp.send(rooms, "move", conn, x, y)
	end
	return protocol.move_reply(x, y)
end

-- A handler that fails answers the client with an error, so that no
-- client waits for a reply that will not come.
local function answering(handler)
	return function(conn, body)
		local ok, reply = pcall(handler, conn, body)
		if ok then
			return reply
		end
		wisp.log_warn("demo: a command of client " .. conn .. " failed: "
			.. tostring(reply))
		return protocol.error("the server failed to do it")
	end
end

wisp.command(protocol.LOGIN, answering(login))
wisp.command(protocol.ENTER, answering(enter))
wisp.command(protocol.MOVE, answering(move))
wisp.on_disconnect(leave)

wisp.start(function()
	wisp.register("player")
	wisp.log("demo: player ready")
end)
