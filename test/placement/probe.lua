-- probe.lua: what cases.lua asks of a game node: the nodes it picks for
-- keys ("picks", n: for player1..playerN), and services started to load
-- it ("load", n: n agents that stay); and for board.lua, the board
-- killed and started again ("restart_board").
local wisp = require "wisp"

local kept = {}

wisp.start(function()
	wisp.register("probe")
	wisp.dispatch("lua", function(_, op, n)
		if op == "picks" then
			local picks = {}
			for i = 1, n do
				picks[i] = wisp.pick("node", "player" .. i)
			end
			return picks
		elseif op == "load" then
			for _ = 1, n do
				kept[#kept + 1] = wisp.newservice("agent", "load")
			end
			return #kept
		elseif op == "restart_board" then
			wisp.kill("board")
			while wisp.query("board") do
				wisp.sleep(1)
			end
			wisp.newservice("board")
			return
		end
		error("probe: unknown op " .. tostring(op))
	end)
	wisp.log("READY probe")
end)
