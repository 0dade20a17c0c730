-- args_echo.lua: answers "args" with the arguments it was started with,
-- and whether its start function had run.
local wisp = require "wisp"
local args = table.pack(...)
local started = false

wisp.start(function()
	wisp.sleep(10) -- newservice must wait for this
	started = true
	wisp.dispatch("lua", function()
		return args[1], args[2], args[3], started
	end)
end)
