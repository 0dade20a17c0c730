-- bench_counter.lua: node B of the harbor benchmarks. As "counter" it
-- counts "ping" messages and answers "count", "echo" and "whoami".
local wisp = require "wisp"

local count = 0

wisp.start(function()
	wisp.dispatch("lua", function(_, cmd, n)
		if cmd == "ping" then
			count = count + 1
		elseif cmd == "count" then
			return count
		elseif cmd == "whoami" then
			return wisp.self()
		else
			return n
		end
	end)
	wisp.register("counter")
	wisp.log("READY counter")
end)
