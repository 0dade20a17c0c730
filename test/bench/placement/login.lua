-- login.lua: the login of the agent_login benchmark. Each login (command
-- 101) starts an agent for the connection on the game node picked for
-- it, binds the connection to it when the gate can (wisp.bind), and
-- retires the agent of the connection's last login; a disconnect retires
-- the agent too. It logs "READY login" once every game node is up.
local wisp = require "wisp"

local LOGIN = 101
local GAMES = 3

local agents = {} -- conn -> its agent

local function retire(conn)
	local agent = agents[conn]
	agents[conn] = nil
	if agent then
		wisp.send(agent, "bye")
	end
end

local function games_up()
	local up = 0
	for _, node in ipairs(wisp.nodes()) do
		if node.up and node.name:match("^game") then
			up = up + 1
		end
	end
	return up
end

wisp.start(function()
	wisp.register("login")
	wisp.command(LOGIN, function(conn)
		local node = wisp.pick("node", conn)
		local agent = wisp.newservice_at(node, "agent", conn)
		retire(conn)
		agents[conn] = agent
		if wisp.bind then
			wisp.bind(conn, agent, { 102 })
		end
		return "ok " .. node
	end)
	wisp.on_disconnect(function(conn)
		retire(conn)
	end)
	wisp.fork(function()
		while games_up() < GAMES do
			wisp.sleep(50)
		end
		wisp.log("READY login")
	end)
end)
