-- peer.lua: the service game2 and game3 run in the cluster tests. It takes
-- the local name "pong" and the cluster-wide name given as its argument,
-- and answers pings, echoes payloads, holds slow calls and calls onward.
local wisp = require "wisp"
local global_name = assert(..., "peer.lua wants its cluster-wide name")

local commands = {}

function commands.ping(...)
	return "pong", global_name, ...
end

function commands.whoami()
	return wisp.self(), global_name
end

function commands.echo(payload)
	return payload, #payload
end

-- Learns addr's handle from its answer, then calls it by that handle.
function commands.learn(addr)
	local handle = wisp.call(addr, "whoami")
	return handle, wisp.call(handle, "ping", "learned")
end

-- Logs a marker the driver waits for before it kills this node.
function commands.slow(ms)
	wisp.log("SLOW STARTED " .. global_name)
	wisp.sleep(ms)
	return "slow done"
end

-- Calls addr from this node and returns what it answered.
function commands.relay(addr, ...)
	return wisp.call(addr, ...)
end

wisp.start(function()
	wisp.dispatch("lua", function(_, cmd, ...)
		local f = commands[cmd]
		if not f then
			error("peer: unknown command " .. tostring(cmd))
		end
		return f(...)
	end)
	wisp.register("pong")
	wisp.register_global(global_name)
	wisp.log("READY " .. global_name)
end)
