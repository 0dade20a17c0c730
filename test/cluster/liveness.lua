-- liveness.lua: game1 in the harbor liveness test (test_liveness.c). It
-- keeps game2 busy, so that game2 reads a 12 MB incompressible payload
-- far slower than harbor.timeout (1 s here) allows for one frame, and
-- checks that the call is answered: the link lives on while game2 takes
-- its bytes, though its pongs wait behind them. Exits 0 when it was.
local wisp = require "wisp"

local SIZE = 12 * 1000 * 1000

-- Bytes no compressor can shrink, made a megabyte at a time with a turn of
-- the loop between, so that no one run of the task nears the handler
-- budget (slow under the sanitizers).
local function random_bytes(n)
	local chunks = {}
	for c = 1, n // 1000000 do
		local parts = {}
		for i = 1, 1000000 // 8 do
			parts[i] = string.pack("<i8", math.random(math.mininteger,
				math.maxinteger))
		end
		chunks[c] = table.concat(parts)
		wisp.sleep(0)
	end
	return table.concat(chunks)
end

local function run()
	local payload = random_bytes(SIZE)
	assert(wisp.call("pong@game2", "ping"))
	assert(wisp.call("pong@game2", "burn", 8000))
	local started = wisp.now()
	local got = wisp.call("pong@game2", "size", payload)
	assert(got == SIZE, "game2 counted " .. tostring(got))
	wisp.log(string.format("SIZE ANSWERED after %d ms", wisp.now() - started))
end

wisp.start(function()
	wisp.fork(function()
		local ok, err = xpcall(run, debug.traceback)
		if not ok then
			wisp.log_error("liveness failed: " .. tostring(err))
		end
		wisp.shutdown(ok and 0 or 1)
	end)
end)
