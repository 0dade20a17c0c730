-- front.lua: the clients' service of test_prometheus.py: command 1 is
-- answered through a call to back (a call latency, a command latency),
-- command 2 always fails (a handler error, an error frame).
local wisp = require "wisp"

wisp.command(1, function(_, body)
	return wisp.call("back", "echo", body)
end)

wisp.command(2, function()
	error("front refuses command 2")
end)

wisp.start(function()
	wisp.register("front")
	wisp.log("READY front")
end)
