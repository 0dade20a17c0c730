-- front.lua: the service behind the gate in test_gate.c. It answers the
-- test's client commands and keeps what gate.events tells it (who is
-- connected from where, and why each one left), so that one client can
-- ask about another. With the argument "verbose" it also logs each
-- connect and disconnect, for tests that count them in the log.
local wisp = require "wisp"

local verbose = ... == "verbose"

-- Client commands, as test_gate.c numbers them.
local ECHO, WHOAMI, STATUS, FAIL, KICK = 1, 2, 3, 4, 5
local JOIN, PUSH, MULTICAST, BROADCAST, FLOOD, COUNTS = 6, 7, 8, 9, 10, 11
local BROADCAST_PUSH = 12
-- Frames the service sends unasked.
local FAREWELL, TO_ONE, TO_SOME, TO_ALL, FLOODED = 50, 60, 61, 62, 70

local address = {} -- conn -> its address, while it is connected
local gone = {}    -- conn -> why it left
local named = {}   -- name -> conn, from JOIN
local connects, disconnects = 0, 0

local function on_connect(conn, addr)
	connects = connects + 1
	address[conn] = addr
	if verbose then
		wisp.log("front: connect", conn, addr)
	end
end

local function on_disconnect(conn, reason)
	disconnects = disconnects + 1
	address[conn] = nil
	gone[conn] = reason
	if verbose then
		wisp.log("front: disconnect", conn, reason)
	end
end

-- body: a conn. "open ADDRESS", "closed REASON" or "unknown".
local function status(_, body)
	local conn = math.tointeger(tonumber(body))
	if conn and address[conn] then
		return "open " .. address[conn]
	elseif conn and gone[conn] then
		return "closed " .. gone[conn]
	end
	return "unknown"
end

-- "name text": text to the client that joined as name.
local function push_one(_, body)
	local name, text = body:match("^(%S+) (.*)$")
	wisp.push(assert(named[name], "nobody joined as " .. tostring(name)),
		TO_ONE, text)
	return "pushed"
end

-- "a,b,c text": text to each of those.
local function push_some(_, body)
	local list, text = body:match("^(%S+) (.*)$")
	local conns = {}
	for name in list:gmatch("[^,]+") do
		conns[#conns + 1] = assert(named[name], "nobody joined as " .. name)
	end
	wisp.multicast(conns, TO_SOME, text)
	return "multicast"
end

-- "count size": count frames of size bytes, each starting with its
-- number, pushed from a task of their own that lets other frames in
-- between, so that the flood and other clients' commands interleave.
local function flood(conn, body)
	local count, size = body:match("^(%d+) (%d+)$")
	count, size = tonumber(count), tonumber(size)
	local pad = string.rep("x", size - 8)
	wisp.fork(function()
		for i = 1, count do
			wisp.push(conn, FLOODED, string.format("%08d", i) .. pad)
			if i % 64 == 0 then
				wisp.sleep(0)
			end
		end
	end)
end

wisp.start(function()
	wisp.register("front")
	wisp.on_connect(on_connect)
	wisp.on_disconnect(on_disconnect)
	wisp.command(ECHO, function(_, body) return body end)
	wisp.command(WHOAMI, function(conn)
		return conn .. " " .. tostring(address[conn])
	end)
	wisp.command(STATUS, status)
	wisp.command(FAIL, function(_, body)
		error("front failed on purpose: " .. body)
	end)
	-- a frame, then the kick with body as the reason: the frame must
	-- reach the client before the close
	wisp.command(KICK, function(conn, body)
		wisp.push(conn, FAREWELL, "farewell " .. body)
		wisp.kick(conn, body)
	end)
	wisp.command(JOIN, function(conn, body)
		named[body] = conn
		return "joined " .. body
	end)
	wisp.command(PUSH, push_one)
	wisp.command(MULTICAST, push_some)
	wisp.command(BROADCAST, function(_, body)
		return "broadcast to " .. wisp.broadcast(TO_ALL, body) .. " gate"
	end)
	-- body to all, then "after body" to each connected client at once:
	-- the gate is still writing the broadcast when the multicast comes
	wisp.command(BROADCAST_PUSH, function(_, body)
		wisp.broadcast(TO_ALL, body)
		local conns = {}
		for conn in pairs(address) do
			conns[#conns + 1] = conn
		end
		wisp.multicast(conns, TO_ONE, "after " .. body)
		return "pushed"
	end)
	wisp.command(FLOOD, flood)
	wisp.command(COUNTS, function()
		return string.format("connects %d disconnects %d", connects,
			disconnects)
	end)
end)
