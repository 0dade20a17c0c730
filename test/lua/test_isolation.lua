-- test_isolation.lua: one bad handler does not stop the node: a runaway
-- loop is interrupted past its budget, a memory hog hits its limit and
-- gets an error, and both services go on serving.
local wisp = require "wisp"
local t = require "testing"

local pong = wisp.newservice("pong")
local other = wisp.newservice("pong")

t.case("a runaway handler is interrupted; the node goes on", function()
	local a = wisp.now()
	t.raises("handler ran longer than 300 ms and was interrupted",
		wisp.call, pong, "spin")
	local took = wisp.now() - a
	t.ok(took >= 300 and took < 1500, "interrupted after " .. took .. " ms")
	t.eq(wisp.call(pong, "ping"), "pong", "the same service still answers")
	local cpu = wisp.stats(pong).cpu_ms
	t.ok(cpu >= 250 and cpu < 5000, "its CPU time shows the spin: " .. cpu)
	t.eq(wisp.call(other, "ping"), "pong", "others answer")
end)

t.case("the memory limit fails the allocation, not the service", function()
	wisp.call(pong, "limit", 2 * 1024 * 1024)
	t.eq(wisp.call(pong, "hog", 1000), 1000, "small work fits")
	t.raises("not enough memory", wisp.call, pong, "hog", 1000000)
	t.eq(wisp.call(pong, "ping"), "pong")
	local mem = wisp.call(pong, "memory")
	t.ok(mem < 2 * 1024 * 1024, "memory back under the limit: " .. mem)
	wisp.call(pong, "limit", 0)
	t.eq(wisp.call(pong, "hog", 40000), 40000, "no limit, no error")
end)

t.case("an error answer names the failing handler's message", function()
	local err = t.raises("pong.lua:%d+: deliberate", wisp.call, other, "fail", "deliberate")
	t.ok(not err:find("stack traceback"), "the traceback stays in the log")
end)

t.run()
