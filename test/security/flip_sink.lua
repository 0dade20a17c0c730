-- flip_sink.lua: the root's service "sink" in test_tls_flip.py. Each
-- message must be whole as flip_source.lua made it; one that is not is
-- logged "SINK BAD". Every 100th is logged "SINK AT n".
local wisp = require "wisp"

local function expected(n)
	return string.rep(string.char(65 + n % 26), 2000 + n % 7)
end

wisp.start(function()
	wisp.register("sink")
	wisp.dispatch("lua", function(_, n, body)
		if type(n) ~= "number" or body ~= expected(n) then
			wisp.log("SINK BAD " .. tostring(n))
		elseif n % 100 == 0 then
			wisp.log("SINK AT " .. n)
		end
	end)
end)
