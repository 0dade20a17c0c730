-- idle.lua: a service that does nothing but exist (spawn and memory tests).
local wisp = require "wisp"
wisp.dispatch("lua", function() return true end)
