-- test_traces.lua: traces in Lua tasks: a call made with no trace starts
-- one, which the callee serves in and the caller keeps while it waits for
-- answers; a wait for anything else (a sleep, a wakeup) takes a task back
-- to the trace of the message it serves, so no trace goes stale.
local wisp = require "wisp"
local t = require "testing"

local pong = wisp.newservice("pong", "traced_pong")

t.case("a call starts a trace that the callee serves in", function()
	wisp.sleep(0) -- this task serves no traced message: no trace now
	t.eq(wisp.trace(), nil)
	local before, after = wisp.call(pong, "trace", 20)
	local mine = wisp.trace()
	t.ok(type(mine) == "string" and #mine == 16, "an id of 16 hex digits")
	t.eq(before, mine, "the callee runs in the caller's trace")
	t.eq(after, mine, "and keeps it across its sleep")
	t.eq(select(1, wisp.call(pong, "trace")), mine, "the next call shares it")
end)

t.case("a sleep ends a trace the task's call started", function()
	wisp.call(pong, "ping")
	local first = wisp.trace()
	wisp.sleep(0)
	t.eq(wisp.trace(), nil)
	wisp.call(pong, "ping")
	t.ok(wisp.trace() ~= nil and wisp.trace() ~= first, "a new one")
	wisp.sleep(0)
end)

t.case("a fork takes its trace; a woken task keeps its own", function()
	local waiter, seen
	waiter = wisp.fork(function()
		wisp.wait()
		seen = wisp.trace() or "none"
	end)
	wisp.sleep(0)
	wisp.call(pong, "ping") -- this task is in a trace now
	local traced = wisp.trace()
	local forked
	wisp.fork(function() forked = wisp.trace() end)
	wisp.wakeup(waiter)
	wisp.sleep(0)
	t.eq(forked, traced)
	t.eq(seen, "none", "not the waker's trace")
end)

t.run()
