-- roots_node.lua: the service nodes a and b run in the root failover test:
-- local name "svc" and the cluster-wide name given as its argument. It
-- answers pings, claims more names, calls onward for the cases on b, and
-- keeps the node events its monitor saw.
local wisp = require "wisp"
local global_name = assert(..., "roots_node.lua wants its cluster-wide name")

local events = {} -- "down r1", "up r2", ... in the order seen
local commands = {}

function commands.ping(...)
	return "pong", global_name, ...
end

function commands.whoami()
	return wisp.self()
end

-- The events seen after the first `from` of them.
function commands.events(from)
	return table.move(events, (from or 0) + 1, #events, 1, {}), #events
end

-- Calls addr from this node and returns what it answered.
function commands.relay(addr, ...)
	return wisp.call(addr, ...)
end

function commands.query(name)
	return wisp.query(name)
end

wisp.start(function()
	wisp.monitor_nodes(function(event, name)
		events[#events + 1] = event .. " " .. name
	end)
	wisp.dispatch("lua", function(_, cmd, ...)
		local f = commands[cmd]
		if not f then
			error("roots_node: unknown command " .. tostring(cmd))
		end
		return f(...)
	end)
	wisp.register("svc")
	wisp.register_global(global_name)
	wisp.log("READY " .. global_name)
end)
