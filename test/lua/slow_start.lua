-- slow_start.lua: its start takes a while and sets state that handlers
-- need; mail that comes before must wait for it.
local wisp = require "wisp"
local ready = false

wisp.dispatch("lua", function(source, cmd)
	return ready
end)

wisp.start(function()
	wisp.sleep(30)
	ready = true
end)
