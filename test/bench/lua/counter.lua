-- counter.lua: counts "ping" messages and answers "count" and "echo".
local wisp = require "wisp"
local count = 0

wisp.dispatch("lua", function(source, cmd, n)
	if cmd == "ping" then
		count = count + 1
	elseif cmd == "count" then
		return count
	else
		return n
	end
end)
