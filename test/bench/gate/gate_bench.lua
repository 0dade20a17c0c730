-- gate_bench.lua: the service behind the gate benchmarks. Command 1
-- echoes its body; command 2 broadcasts a 64-byte frame of command 3 to
-- every client of the gate.
local wisp = require "wisp"

local ECHO, BROADCAST, BROADCAST_FRAME = 1, 2, 3
local BODY = string.rep("b", 64)

wisp.start(function()
	wisp.register("gate_bench")
	wisp.command(ECHO, function(_, body)
		return body
	end)
	wisp.command(BROADCAST, function()
		wisp.broadcast(BROADCAST_FRAME, BODY)
	end)
	wisp.log("READY gate_bench")
end)
