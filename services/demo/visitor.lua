-- visitor.lua: the demo cluster's service on game1. It greets the greeter
-- on game2 by its cluster-wide name and by name@node, times a run of calls
-- across the nodes, and logs each step with "demo:" for tools/demo.sh.
local wisp = require "wisp"

local CALLS = 10000

-- The greeter may start after this node: wait until its name is known.
local function wait_for_greeter()
	for _ = 1, 200 do
		if wisp.query("greeter") then
			return true
		end
		wisp.sleep(50)
	end
	return false
end

local function visit()
	if not wait_for_greeter() then
		wisp.log_error("demo: failed: the greeter never showed up")
		return
	end
	wisp.log("demo: " .. wisp.call("greeter", "hello", "visitor, by name"))
	wisp.log("demo: " .. wisp.call("greeter@game2", "hello",
		"visitor, by name@node"))
	local started = wisp.now()
	for _ = 1, CALLS do
		wisp.call("greeter", "hello", "bench")
	end
	wisp.log(string.format("demo: %d calls from game1 to game2 in %d ms", CALLS,
		wisp.now() - started))
	wisp.log("demo: done")
end

wisp.start(function()
	wisp.fork(function()
		local ok, err = pcall(visit)
		if not ok then
			wisp.log_error("demo: failed: " .. tostring(err))
		end
	end)
end)
