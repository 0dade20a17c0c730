-- greeter.lua: the demo cluster's service on game2. It answers greetings
-- under a local name and a cluster-wide one, and counts them.
local wisp = require "wisp"

local count = 0

local function node_name()
	for _, node in ipairs(wisp.nodes()) do
		if node.self then
			return node.name
		end
	end
	return "?"
end

wisp.start(function()
	local here = node_name()
	wisp.dispatch("lua", function(source, cmd, who)
		if cmd ~= "hello" then
			error("greeter: unknown command " .. tostring(cmd))
		end
		count = count + 1
		return string.format("hello, %s (greeting %d, from %s)", who, count,
			here)
	end)
	wisp.register("greeter")
	wisp.register_global("greeter")
end)
