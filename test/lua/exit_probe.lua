-- exit_probe.lua: tells its parent when its exit handler runs, then goes.
local wisp = require "wisp"
local parent = ...

wisp.start(function()
	wisp.dispatch("exit", function()
		wisp.send(parent, "exit seen", wisp.self())
		wisp.exit()
	end)
end)
