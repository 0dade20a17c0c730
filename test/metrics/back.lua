-- back.lua: answers front's calls with what they carry.
local wisp = require "wisp"

wisp.dispatch("lua", function(_, _, body)
	return body
end)

wisp.start(function()
	wisp.register("back")
end)
