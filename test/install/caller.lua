-- caller.lua: the Lua side of test_install.py, run by the installed wisp:
-- it needs a library that ships (wisp.queue) and calls the module built
-- against the installed headers.
local wisp = require "wisp"
local new_queue = require "wisp.queue"

wisp.start(function()
	local in_order = new_queue()
	local answer = in_order(wisp.call, "probe", "installed", 2, 3)
	wisp.log("PROBE", answer.count, answer.first)
	wisp.log("LUA PATH " .. package.path)
end)
