-- login.lua: the net node's gate.events and the route of every command.
-- LOGIN binds the client to a new agent on game2, with the session
-- { uid = UID, name = "uUID" }, and answers "ok CONN"; LOGIN_RANGE binds
-- only commands 10..19 and 21; LOGIN_SELF binds the client to this
-- service itself, TAKE_15 only command 15; BIG_SESSION and MANY_RANGES
-- go past the limits of session data and bindings. ECHO and the other
-- commands, when they come here, answer "login BODY UID" (UID from the
-- session, 0 without one); STATS answers how many ECHOs came here. Each
-- disconnect is logged, and the clients logged in are counted (MEMBERS),
-- as a game that pushes to them would hold them.
local wisp = require "wisp"

local LOGIN, LOGIN_RANGE, LOGIN_SELF, BIG_SESSION, MANY_RANGES = 1, 2, 3, 4, 5
local TAKE_15 = 6
local ECHO, STATS = 10, 50
local echoes = 0
local members, count = {}, 0

local function set_members(conn, on)
	if (members[conn] ~= nil) == on then
		return
	end
	members[conn] = on or nil
	count = count + (on and 1 or -1)
	wisp.log("MEMBERS " .. count)
end

-- game2 may be starting again (test_bind.c kills it once)
local function new_agent()
	for _ = 1, 100 do
		local ok, agent = pcall(wisp.call, "spawner@game2", "new")
		if ok then
			return agent
		end
		wisp.sleep(100)
	end
	error("no agent from game2")
end

local function login(conn, uid, commands)
	local agent = new_agent()
	wisp.bind(conn, agent, commands, { uid = uid, name = "u" .. uid })
	set_members(conn, true)
	return "ok " .. conn
end

local function answer(_, body, session)
	return ("login %s %d"):format(body, session and session.uid or 0)
end

wisp.start(function()
	wisp.register("login")
	wisp.on_connect(function() end)
	wisp.on_disconnect(function(conn, reason)
		wisp.log(("LOGIN_DISCONNECT %d %s"):format(conn, reason))
		set_members(conn, false)
	end)
	wisp.command(LOGIN, function(conn, body)
		return login(conn, tonumber(body))
	end)
	wisp.command(LOGIN_RANGE, function(conn, body)
		return login(conn, tonumber(body), { { 10, 19 }, 21 })
	end)
	wisp.command(LOGIN_SELF, function(conn, body)
		wisp.bind(conn, wisp.self(), nil, { uid = tonumber(body) })
		return "ok " .. conn
	end)
	-- command 15 of the client to this service, out of the middle of its
	-- agent's 10..19
	wisp.command(TAKE_15, function(conn)
		wisp.bind(conn, wisp.self(), { 15 })
		return "took 15"
	end)
	-- session data over 1 KiB: refused in the caller
	wisp.command(BIG_SESSION, function(conn)
		local ok, err = pcall(wisp.session, conn, { blob = ("x"):rep(2000) })
		return ok and "accepted" or err
	end)
	-- 5 binds of 16 ids each to this service: the gate takes 64 ranges and
	-- refuses the fifth bind; then all of it is undone
	wisp.command(MANY_RANGES, function(conn)
		for op = 0, 4 do
			local ids = {}
			for i = 1, 16 do
				ids[i] = 1000 + op * 16 + i
			end
			wisp.bind(conn, wisp.self(), ids)
		end
		wisp.unbind(conn)
		return "ok " .. conn
	end)
	wisp.command(ECHO, function(conn, body, session)
		echoes = echoes + 1
		return answer(conn, body, session)
	end)
	for id = 11, 30 do
		wisp.command(id, answer)
	end
	wisp.command(STATS, function()
		return "echoes " .. echoes
	end)
	wisp.log("READY login")
end)
