-- idle.lua: a service the console test starts and kills.
local wisp = require "wisp"

wisp.dispatch("lua", function() return true end)
