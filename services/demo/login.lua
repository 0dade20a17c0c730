-- demo/login.lua: the demo game's logins (101), on the lobby node of
-- conf/demo.lua, and the gate's gate.events. A login starts the player's
-- agent (demo.agent) on a game node and binds the client's enters and
-- moves (102, 103) to it, so that the gate sends them there straight,
-- not through here. The node is wisp.pick's over the game nodes that are
-- up (the config's env demo_games), keyed by the account: an account
-- lands on the same node while the same nodes are up, the accounts
-- spread evenly, and a node that goes down moves only its own accounts.
-- An account plays on one client at a time, the newest (the older is
-- kicked). When a game node dies, the gate sends its clients' enters and
-- moves here again (after one error frame for those in flight), answered
-- "error: ... log in again"; a login then finds the old agent gone and
-- places a new one on a node that is up, which loads the saved row. Who
-- is logged in lives in wisp.keep, so a hot update keeps everyone in.
local wisp = require "wisp"
local protocol = require "demo.protocol"

local games = {}
for name in (wisp.getenv("demo_games") or ""):gmatch("%S+") do
	games[#games + 1] = name
end
local rooms = wisp.getenv("demo_room") or "room"

-- conn -> { account, agent }: the clients logged in
local players = wisp.keep("players", {})
-- account -> conn: the client playing each account
local playing = wisp.keep("playing", {})
-- conn -> a token of the login under way on it, dropped if the client goes
local logging_in = wisp.keep("logging_in", {})

-- Forgets conn's login, and has its agent (if still there) let it go.
local function forget(conn)
	local p = players[conn]
	players[conn], logging_in[conn] = nil, nil
	if p then
		if playing[p.account] == conn then
			playing[p.account] = nil
		end
		wisp.send(p.agent, "bye") -- dropped if it is gone already
	end
end

-- A client gone: the room lets it go too (its agent does so as well, if
-- it is still there: not if its node died).
local function gone(conn)
	forget(conn)
	wisp.send(rooms, "leave", conn)
end

-- Whether conn's agent still answers: not if its node is down or it
-- has exited.
local function agent_alive(p)
	return (pcall(wisp.call, p.agent, "alive"))
end

-- The game nodes that are up, as this node sees them.
local function up_games()
	local up, known = {}, {}
	for _, node in ipairs(wisp.nodes()) do
		known[node.name] = node.up
	end
	for _, name in ipairs(games) do
		if known[name] then
			up[#up + 1] = name
		end
	end
	return up
end

-- Starts account's agent for conn on the picked node; one whose start
-- fails (the node went down meanwhile) is left out and another picked.
-- The agent and its node.
local function place(conn, account)
	local nodes, why = up_games(), "no game node is up"
	while #nodes > 0 do
		local node = wisp.pick(nodes, account)
		local ok, agent = pcall(wisp.newservice_at, node, "demo.agent", conn,
			account)
		if ok then
			return agent, node
		end
		why = agent
		for i, name in ipairs(nodes) do
			if name == node then
				table.remove(nodes, i)
				break
			end
		end
	end
	error(why, 0)
end

local function login(conn, body)
	local account = protocol.name(body)
	if not account then
		return protocol.error(protocol.BAD_NAME)
	end
	local p = players[conn]
	if logging_in[conn] or (p and agent_alive(p)) then
		return protocol.error("already logged in")
	elseif p then -- its agent is gone with its game node; its room
		forget(conn) -- keeps it until the new agent enters it again
	end
	local other = playing[account]
	if other then -- one client per account: the newest
		wisp.kick(other, "the account logged in on another connection")
		gone(other)
	end
	local token = {}
	logging_in[conn] = token
	local agent, node = place(conn, account)
	local welcome = wisp.call(agent, "welcome", node)
	if logging_in[conn] ~= token then -- the client went meanwhile
		wisp.send(agent, "bye")
		return nil
	end
	logging_in[conn] = nil
	players[conn] = { account = account, agent = agent }
	playing[account] = conn
	-- sent before the reply, so the gate has it for the next command
	wisp.bind(conn, agent, { { protocol.ENTER, protocol.MOVE } },
		{ account = account })
	return welcome
end

-- Enters and moves of clients bound to no agent: not logged in yet, or
-- their agent went with its game node.
local function unbound(_, _, session)
	if session then
		return protocol.error("the game node of " .. session.account
			.. " is gone: log in again")
	end
	return protocol.error("not logged in")
end

wisp.command(protocol.LOGIN, login)
wisp.command(protocol.ENTER, unbound)
wisp.command(protocol.MOVE, unbound)
wisp.on_disconnect(gone)

-- Logs once every game node is up: logins place agents on those up
-- meanwhile, but would not spread over all of them.
local function await_games()
	while #up_games() < #games do
		wisp.sleep(50)
	end
	wisp.log("demo: login ready, on " .. #games .. " game nodes")
end

wisp.start(function()
	wisp.register("login")
	wisp.fork(await_games)
end)
