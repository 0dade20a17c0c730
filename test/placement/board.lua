-- board.lua: the service the net node's gate routes commands 1..9 to
-- (as board@game2): it answers each with its node's name and the body.
-- Command 9 also has the probe start the board again, as a new service.
local wisp = require "wisp"
local cluster = require "wisp.cluster"

wisp.start(function()
	wisp.register("board")
	local node = cluster.self()
	for command = 1, 9 do
		wisp.command(command, function(_, body)
			if command == 9 then
				wisp.send("probe", "restart_board")
			end
			return node .. " " .. body
		end)
	end
	wisp.log("READY board")
end)
