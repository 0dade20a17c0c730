-- agent.lua: a service started on some node by newservice_at; "whoami"
-- answers with its node's name and the arguments it was started with.
local wisp = require "wisp"
local cluster = require "wisp.cluster"

local args = table.pack(...)

wisp.start(function()
	wisp.dispatch("lua", function(_, op)
		if op == "whoami" then
			return cluster.self(), table.unpack(args, 1, args.n)
		end
		error("agent: unknown op " .. tostring(op))
	end)
end)
