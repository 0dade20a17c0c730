-- test_flow.lua: suspending and resuming: sleep, timeout, fork, wait and
-- wakeup, the queue lock; and services: newservice with arguments,
-- uniqueservice, exit, kill, a start that fails.
local wisp = require "wisp"
local t = require "testing"

t.case("sleep waits at least its time", function()
	local a = wisp.now()
	wisp.sleep(30)
	t.ok(wisp.now() - a >= 30, "slept " .. (wisp.now() - a))
	wisp.sleep(0)
end)

t.case("timeout runs a function later, in order", function()
	local order = {}
	wisp.timeout(40, function() order[#order + 1] = "late" end)
	wisp.timeout(10, function() order[#order + 1] = "early" end)
	wisp.sleep(80)
	t.eq(table.concat(order, ","), "early,late")
end)

t.case("fork runs after the current task yields, with arguments", function()
	local seen
	local co = wisp.fork(function(a, b) seen = a + b end, 2, 3)
	t.eq(type(co), "thread")
	t.eq(seen, nil, "not yet")
	wisp.sleep(0)
	t.eq(seen, 5)
end)

t.case("an error in a fork is logged and harms nobody", function()
	wisp.fork(function() error("fork failed on purpose") end)
	wisp.sleep(0)
	t.ok(true)
end)

t.case("wait and wakeup", function()
	local waiter, woken
	waiter = wisp.fork(function()
		wisp.wait()
		woken = true
	end)
	wisp.sleep(0)
	t.eq(woken, nil)
	t.eq(wisp.wakeup(waiter), true)
	t.eq(wisp.wakeup(waiter), false, "a second wakeup finds nobody waiting")
	wisp.sleep(0)
	t.eq(woken, true)
	t.eq(wisp.wakeup(coroutine.create(print)), false, "a plain coroutine")
end)

t.case("queue keeps critical sections in order across calls", function()
	local pong = wisp.newservice("pong")
	local cs = wisp.queue()
	local log = {}
	local done = 0
	for i = 1, 3 do
		wisp.fork(function()
			cs(function()
				log[#log + 1] = "enter" .. i
				wisp.call(pong, "slow", 10 * (4 - i)) -- later ones are faster
				cs(function() log[#log + 1] = "nested" .. i end)
				log[#log + 1] = "leave" .. i
			end)
			done = done + 1
		end)
	end
	while done < 3 do
		wisp.sleep(5)
	end
	t.eq(table.concat(log, " "), "enter1 nested1 leave1 enter2 nested2 leave2 enter3 nested3 leave3")
	t.raises("inside", cs, function() error("inside") end)
	t.eq(cs(function(a) return a * 2 end, 21), 42, "released after an error")
end)

t.case("newservice passes arguments and waits for start", function()
	local h = wisp.newservice("args_echo", "a", 2, { k = "v" })
	local a, b, c, started = wisp.call(h, "args")
	t.eq(a, "a")
	t.eq(b, 2)
	t.eq(c.k, "v")
	t.eq(started, true, "start finished before newservice returned")
end)

t.case("a start that fails fails newservice", function()
	t.raises("service bad_start failed to start: .*bad_start.lua:%d+: cannot start",
		wisp.newservice, "bad_start")
	t.raises("service nosuch failed to start: script 'nosuch' not found",
		wisp.newservice, "nosuch")
	t.raises("service bad_syntax failed to start: .*bad_syntax.lua:%d+:",
		wisp.newservice, "bad_syntax")
end)

t.case("uniqueservice starts one instance", function()
	local a = wisp.uniqueservice("pong")
	local b = wisp.uniqueservice("pong")
	t.eq(a, b)
	t.eq(wisp.call(a, "ping"), "pong")
end)

t.case("exit and kill end a service", function()
	local h = wisp.newservice("pong")
	t.raises("exited before answering", wisp.call, h, "quit")
	t.eq(wisp.stats(h), nil, "gone")
	h = wisp.newservice("pong")
	t.eq(wisp.kill(h), true)
	t.eq(wisp.kill(h), false, "killed already")
	t.raises("no service", wisp.call, h, "ping")
end)

t.case("the exit handler runs when the node stops a service", function()
	local seen
	wisp.dispatch("lua", function(source, what, who)
		if what == "exit seen" then
			seen = who
		end
	end)
	local probe = wisp.newservice("exit_probe", wisp.self())
	wisp.rawsend(probe, "exit", "") -- what a stopping node sends everyone
	for _ = 1, 100 do
		if seen then
			break
		end
		wisp.sleep(5)
	end
	t.eq(seen, probe)
	wisp.sleep(5)
	t.eq(wisp.stats(probe), nil, "it exited")
end)

t.case("messages sent before start are served after it", function()
	local h = wisp.newservice("slow_start")
	t.eq(wisp.call(h, "ready"), true)
end)

t.run()
