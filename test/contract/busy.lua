-- busy.lua: a service with room for one request in its mailbox
-- (mailbox_limit = 1 in contract.lua) whose handler takes a while: what
-- comes while one request waits is refused, "overloaded".
local wisp = require "wisp"

wisp.start(function()
	wisp.register("busy")
	wisp.command(50, function()
		wisp.sleep(100)
		return "done"
	end)
	wisp.log("READY busy")
end)
