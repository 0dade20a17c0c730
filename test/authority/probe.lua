-- probe.lua: game1's service in the authority test: how game1 sees the
-- cluster, which is what peer tries to change: whether game2 is up, and
-- which service the cluster-wide name "holder" reaches (or why none).
local wisp = require "wisp"

local function game2_up()
	for _, node in ipairs(wisp.nodes()) do
		if node.name == "game2" then
			return node.up
		end
	end
	return nil
end

wisp.start(function()
	wisp.register("probe")
	wisp.dispatch("lua", function()
		local ok, holder = pcall(wisp.call_timeout, 5000, "holder", "whoami")
		return game2_up(), ok and holder or tostring(holder)
	end)
	wisp.log("READY probe")
end)
