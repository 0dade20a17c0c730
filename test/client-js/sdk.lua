-- sdk.lua: the service behind the gate of the TypeScript SDK's tests
-- (tools/client-js/test): an echo, a JSON answer, a push before the
-- reply, a handler that raises, and one that sleeps past a client's
-- timeout (5 is routed ordered = false, 6 in order).
local wisp = require "wisp"

local ECHO, SIZE, PUSH, FAIL, SLEEP, SLEEP_ORDERED = 1, 2, 3, 4, 5, 6
local PUSHED = 100 -- the command of the pushes

wisp.start(function()
	wisp.register("sdk")
	wisp.command(ECHO, function(_, body) return body end)
	wisp.command(SIZE, function(_, body)
		return string.format('{"size":%d}', #body)
	end)
	wisp.command(PUSH, function(conn, body)
		wisp.push(conn, PUSHED, body)
		return "pushed"
	end)
	wisp.command(FAIL, function(_, body)
		error("sdk failed on purpose: " .. body)
	end)
	local function sleep(_, body)
		wisp.sleep(tonumber(body))
		return "slept " .. body
	end
	wisp.command(SLEEP, sleep)
	wisp.command(SLEEP_ORDERED, sleep)
	wisp.log("READY sdk")
end)
