-- root_probe.lua: the service each root runs in the root failover test,
-- local name "probe": it tells what this root's directory holds, the nodes
-- that joined it and the holder of a cluster-wide name, so that the cases
-- can see which root the nodes are on.
local wisp = require "wisp"
local node_name = assert(..., "root_probe.lua wants its node's name")

local commands = {}

-- The names of the nodes that joined this root, sorted, as "a,b".
function commands.joined()
	local up = {}
	for _, n in ipairs(wisp.nodes()) do
		if n.up and not n.self then
			up[#up + 1] = n.name
		end
	end
	table.sort(up)
	return table.concat(up, ",")
end

-- Who holds a cluster-wide name in this root's table (nil: nobody).
function commands.holder(name)
	return wisp.query(name)
end

wisp.start(function()
	wisp.dispatch("lua", function(_, cmd, ...)
		local f = commands[cmd]
		if not f then
			error("root_probe: unknown command " .. tostring(cmd))
		end
		return f(...)
	end)
	wisp.register("probe")
	wisp.log("READY probe " .. node_name)
end)
