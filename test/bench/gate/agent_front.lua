-- agent_front.lua: gate.events of the gate_agent_echo benchmark. It has
-- 500 agents started on each game node and binds each client, as it
-- connects, to the next of them, game1's and game2's in turn. Command 1
-- is routed here too: it echoes the few frames a client sends before its
-- bind reaches the gate, and counts them (logged at the node's stop).
local wisp = require "wisp"

local PER_NODE = 500
local agents, next_agent, early = {}, 0, 0

-- the pool of a node that may still be starting
local function spawn(node)
	for _ = 1, 100 do
		local ok, list = pcall(wisp.call, "pool@" .. node, "spawn", PER_NODE)
		if ok then
			return list
		end
		wisp.sleep(100)
	end
	error("no agents from " .. node)
end

wisp.start(function()
	wisp.register("front")
	local one, two = spawn("game1"), spawn("game2")
	for i = 1, PER_NODE do
		agents[#agents + 1] = one[i]
		agents[#agents + 1] = two[i]
	end
	wisp.on_connect(function(conn)
		next_agent = next_agent % #agents + 1
		wisp.bind(conn, agents[next_agent])
	end)
	wisp.command(1, function(_, body)
		early = early + 1
		return body
	end)
	wisp.dispatch("exit", function()
		wisp.log(("front: %d frames came before their client's bind"):format(
			early))
		wisp.exit()
	end)
	wisp.log("READY agent_front")
end)
