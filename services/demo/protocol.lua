-- demo/protocol.lua: the demo game's client commands and the text of
-- their bodies (README, "The demo game"), shared by demo.login,
-- demo.agent and demo.room. Replies start with "ok" or "error: ".
local protocol = {
	LOGIN = 101, -- "ACCOUNT" -> "ok account=A name=N room=R x=X y=Y logins=L
	             -- node=G", G the game node of the player's agent
	ENTER = 102, -- "ROOM" -> "ok room=R members=M"
	MOVE = 103,  -- "X Y" -> "ok x=X y=Y", and MOVED to the room
	CHAT = 104,  -- "TEXT" -> no reply, SAID to the room ("error: ..." if none)
	MOVED = 203, -- pushed: "NAME X Y"
	SAID = 204,  -- pushed: "NAME: TEXT"
}

local NAME_MAX = 32
local TEXT_MAX = 200
local COORD_MAX = 1000000

-- An account or room name: 1 to NAME_MAX letters, digits, '_', '-', '.';
-- nil if body is not one.
function protocol.name(body)
	if #body >= 1 and #body <= NAME_MAX and not body:find("[^%w_.%-]") then
		return body
	end
	return nil
end

protocol.BAD_NAME = "a name is 1 to " .. NAME_MAX
	.. " letters, digits, '_', '-' or '.'"

local function coordinate(text)
	local n = math.tointeger(tonumber(text))
	if n and n >= -COORD_MAX and n <= COORD_MAX then
		return n
	end
	return nil
end

-- "X Y", integers within COORD_MAX of 0: x, y; or nil.
function protocol.position(body)
	local x, y = body:match("^(%-?%d+) (%-?%d+)$")
	x, y = x and coordinate(x), y and coordinate(y)
	if x and y then
		return x, y
	end
	return nil
end

protocol.BAD_POSITION = "a move is \"X Y\", integers from " .. -COORD_MAX
	.. " to " .. COORD_MAX

-- A chat line: 1 to TEXT_MAX bytes.
function protocol.text(body)
	return #body >= 1 and #body <= TEXT_MAX and body or nil
end

protocol.BAD_TEXT = "a chat line is 1 to " .. TEXT_MAX .. " bytes"

function protocol.error(why)
	return "error: " .. why
end

function protocol.login_reply(row, node)
	return string.format("ok account=%s name=%s room=%s x=%d y=%d logins=%d "
		.. "node=%s", row.account, row.name, row.room, row.x, row.y,
		row.logins, node)
end

function protocol.enter_reply(room, members)
	return string.format("ok room=%s members=%d", room, members)
end

function protocol.move_reply(x, y)
	return string.format("ok x=%d y=%d", x, y)
end

function protocol.moved(name, x, y)
	return string.format("%s %d %d", name, x, y)
end

function protocol.said(name, text)
	return name .. ": " .. text
end

return protocol
