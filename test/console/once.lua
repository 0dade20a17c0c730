-- once.lua: a service of test_console.c whose hot update fails: its main
-- chunk raises when it runs a second time, as a reload runs it.
local wisp = require "wisp"

local runs = wisp.keep("runs", { count = 0 })
runs.count = runs.count + 1
if runs.count > 1 then
	error("once.lua refuses a hot update", 0)
end

wisp.dispatch("lua", function()
	return "once"
end)
