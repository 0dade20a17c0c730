-- slowdb.lua: the db node's service for test_traces.c: answers after
-- 300 ms, logging before and after its sleep (the trace must hold
-- across it).
local wisp = require "wisp"

wisp.start(function()
	wisp.register("slowdb")
	wisp.dispatch("lua", function(_, key)
		wisp.log("slowdb looks up " .. key)
		wisp.sleep(300)
		wisp.log("slowdb found " .. key)
		return "value of " .. key
	end)
	wisp.log("READY slowdb")
end)
