-- bench.lua: what every Lua benchmark shares: timing, the BENCH line, and
-- the node's resident memory.
local wisp = require "wisp"

local bench = {}

-- Prints "BENCH name value unit" and returns value.
function bench.report(name, value, unit)
	wisp.log(string.format("BENCH %s %.0f %s", name, value, unit))
	return value
end

function bench.rate(name, count, started_ms, unit)
	local secs = math.max(wisp.now() - started_ms, 1) / 1000
	return bench.report(name, count / secs, unit)
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
