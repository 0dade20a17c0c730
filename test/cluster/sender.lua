-- sender.lua: a service game1 starts to be one more sender in the order
-- checks; "run" sends a numbered stream (sequence.lua) and answers once
-- the receiver has it all, in order, or raises.
local wisp = require "wisp"
local sequence = require "sequence"

wisp.start(function()
	wisp.dispatch("lua", function(_, cmd, addrs, stream, count, call_every)
		if cmd == "run" then
			sequence.send(addrs, stream, count, call_every)
			return wisp.self()
		end
		error("sender: unknown command " .. tostring(cmd))
	end)
end)
