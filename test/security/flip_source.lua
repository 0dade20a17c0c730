-- flip_source.lua: game1's service in test_tls_flip.py: numbered messages
-- to sink@root, one every 2 ms, through whatever link is up.
local wisp = require "wisp"

local function body(n)
	return string.rep(string.char(65 + n % 26), 2000 + n % 7)
end

wisp.start(function()
	wisp.fork(function()
		local n = 0
		while true do
			n = n + 1
			wisp.send("sink@root", n, body(n))
			wisp.sleep(2)
		end
	end)
end)
