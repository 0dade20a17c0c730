-- bench.lua: what every Lua benchmark shares: timing, the BENCH line, and
-- the node's resident memory.
local wisp = require "wisp"

local bench = {}

-- Prints "BENCH name value unit" and returns value: with four significant
-- digits at least, so that a change in a small figure (12.3 KB) shows.
function bench.report(name, value, unit)
	local digits = 0
	if value ~= 0 then
		digits = 3 - math.floor(math.log(math.abs(value), 10))
	end
	digits = math.max(0, math.min(digits, 3))
	wisp.log(string.format("BENCH %s %." .. digits .. "f %s", name, value,
		unit))
	return value
end

-- count things done since started_ms, per second.
function bench.per_second(count, started_ms)
	return count / (math.max(wisp.now() - started_ms, 1) / 1000)
end

function bench.rate(name, count, started_ms, unit)
	return bench.report(name, bench.per_second(count, started_ms), unit)
end

-- The best of rounds runs of fn(...), which returns a rate: this machine
-- shares its cores, and the best round is the one least disturbed.
function bench.best(rounds, fn, ...)
	local best = 0
	for _ = 1, rounds do
		best = math.max(best, fn(...))
	end
	return best
end

function bench.rss_kb()
	local f = assert(io.open("/proc/self/statm"))
	local _, resident = f:read("n", "n")
	f:close()
	return resident * 4
end

function bench.done()
	wisp.shutdown(0)
end

return bench
