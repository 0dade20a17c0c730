-- lua_send.lua: one service sends 1,000,000 small messages to another,
-- which counts them; the best of three rounds. A sender faster than
-- the counter finds its mailbox full and waits for it to drain.
local wisp = require "wisp"
local bench = require "bench"

local TOTAL, BATCH, ROUNDS = 1000000, 10000, 3

local function round(counter)
	local send = wisp.send
	local before = wisp.call(counter, "count")
	local started = wisp.now()
	for i = 1, TOTAL do
		-- a full mailbox refuses at once: let the counter drain it
		while not send(counter, "ping", i) do
			wisp.sleep(0)
		end
		if i % BATCH == 0 then
			wisp.sleep(0)
		end
	end
	assert(wisp.call(counter, "count") == before + TOTAL)
	return bench.per_second(TOTAL, started)
end

wisp.start(function()
	local counter = wisp.newservice("counter")
	bench.report("lua_send", bench.best(ROUNDS, round, counter), "msg/s")
	bench.done()
end)
