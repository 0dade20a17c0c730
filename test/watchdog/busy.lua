-- busy.lua: the busy node of the watchdog test: never idle, but healthy.
-- It keeps sending itself short messages, and every 200 ms it calls
-- itself with "spin", a handler that loops until lua_handler_budget
-- interrupts it. Every 500 ms it logs "BUSY handled interrupted". The
-- master must never take it for stuck.
local wisp = require "wisp"

local handled, interrupted = 0, 0

local function flood(self)
	while true do
		for _ = 1, 100 do
			wisp.send(self, "nop")
		end
		wisp.sleep(0)
	end
end

local function spin_often(self)
	while true do
		local ok, err = pcall(wisp.call, self, "spin")
		if not ok and tostring(err):find("interrupted") then
			interrupted = interrupted + 1
		end
		wisp.sleep(200)
	end
end

wisp.start(function()
	local self = wisp.self()
	wisp.dispatch("lua", function(_, cmd)
		if cmd == "spin" then
			while true do end
		end
		handled = handled + 1
	end)
	wisp.fork(flood, self)
	wisp.fork(spin_often, self)
	wisp.fork(function()
		while true do
			wisp.log(string.format("BUSY %d %d", handled, interrupted))
			wisp.sleep(500)
		end
	end)
end)
