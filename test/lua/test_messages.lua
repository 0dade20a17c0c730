-- test_messages.lua: sending and calling by handle and by name, answers
-- given now, later or never, errors that reach the caller, and timeouts.
local wisp = require "wisp"
local t = require "testing"

local pong = wisp.newservice("pong", "pong")

t.case("call by handle and by name", function()
	local a, b = wisp.call(pong, "ping", 1)
	t.eq(a, "pong")
	t.eq(b, 1)
	t.eq(select("#", wisp.call("pong", "ping", nil, 2, nil)), 4, "values kept with nils")
	t.eq(wisp.call(wisp.address(pong), "count"), 2, "':hex' addresses")
	t.eq(wisp.query("pong"), pong)
end)

t.case("values of every kind cross intact", function()
	local v = { 1, 2.5, "three", true, { nested = { deep = "yes" } }, [10] = -7 }
	local _, back = wisp.call(pong, "ping", v)
	t.eq(back[3], "three")
	t.eq(back[5].nested.deep, "yes")
	t.eq(back[10], -7)
	t.eq(math.type(back[1]), "integer")
	t.eq(math.type(back[2]), "float")
end)

t.case("send does not wait and keeps order", function()
	local before = wisp.call(pong, "count")
	for i = 1, 100 do
		t.ok(wisp.send(pong, "ping", i), "send")
	end
	t.eq(wisp.call(pong, "count"), before + 100)
end)

t.case("an error in a handler reaches the caller; the service goes on", function()
	t.raises("call to pong failed: .*pong.lua:%d+: boom", wisp.call, "pong", "fail", "boom")
	t.eq(wisp.call(pong, "ping"), "pong")
end)

t.case("an answer that cannot be packed reaches the caller as an error", function()
	t.raises("cannot serialize a function", wisp.call, pong, "unpackable")
	t.eq(wisp.call(pong, "ping"), "pong", "the service goes on")
end)

t.case("call timeout", function()
	local started = wisp.now()
	t.raises("call to pong timed out after 100 ms",
		wisp.call_timeout, 100, "pong", "slow", 500)
	local waited = wisp.now() - started
	t.ok(waited >= 100 and waited < 400, "waited " .. waited .. " ms")
	-- the late answer is dropped, and the next call gets its own answer
	t.eq(select(2, wisp.call(pong, "ping", "fresh")), "fresh")
	wisp.sleep(450)
	t.eq(select(2, wisp.call(pong, "ping", "after")), "after")
end)

t.case("default call timeout comes from config", function()
	t.raises("timed out after 2000 ms", wisp.call, pong, "slow", 2500)
end)

t.case("calls to unknown or dead services fail at once", function()
	t.raises("call to nosuch failed: no service named 'nosuch'", wisp.call, "nosuch", "x")
	local doomed = wisp.newservice("pong")
	wisp.kill(doomed)
	local started = wisp.now()
	t.raises("failed: no service", wisp.call, doomed, "ping")
	t.ok(wisp.now() - started < 50, "no waiting for a dead service")
end)

t.case("a call pending while the callee exits fails", function()
	local doomed = wisp.newservice("pong")
	wisp.fork(function() wisp.sleep(20); wisp.kill(doomed) end)
	t.raises("exited", wisp.call, doomed, "slow", 1000)
end)

t.case("ret and response", function()
	t.eq(select("#", wisp.call(pong, "ret", 1, 2, 3)), 3, "ret's values, not the return")
	t.eq(wisp.call(pong, "later", 30, "deferred"), "deferred")
	t.raises("failed: nope", wisp.call, pong, "refuse", "nope")
end)

t.case("nested calls across three services", function()
	local third = wisp.newservice("pong")
	local second = wisp.newservice("pong")
	local a, b = wisp.call(second, "relay", third, "ping", "deep")
	t.eq(a, "pong")
	t.eq(b, "deep")
	t.raises("failed: .*call to :%x+ failed: .*boom",
		wisp.call, second, "relay", third, "fail", "boom")
end)

t.case("names: register, query, unknown, taken", function()
	wisp.register("tester")
	t.eq(wisp.query("tester"), wisp.self())
	t.eq(wisp.query("nobody"), nil)
	t.raises("cannot register the name 'pong': it is taken", wisp.register, "pong")
	t.raises("cannot register the name 'a b'", wisp.register, "a b")
end)

t.case("text and user types reach their handlers", function()
	local got = {}
	wisp.dispatch(20, function(source, data) got[#got + 1] = { source, data } end)
	wisp.dispatch("text", function(source, data) got[#got + 1] = { "text", data } end)
	t.ok(wisp.rawsend(wisp.self(), 20, "raw\0bytes"), "rawsend")
	t.ok(wisp.rawsend(wisp.self(), "text", "plain"), "rawsend text")
	wisp.sleep(0)
	t.eq(#got, 2)
	t.eq(got[1][1], wisp.self(), "source")
	t.eq(got[1][2], "raw\0bytes")
	t.eq(got[2][2], "plain")
	t.raises("user message type is from 16 to 255", wisp.dispatch, 3, print)
	t.raises("invalid option 'bogus'", wisp.dispatch, "bogus", print)
end)

t.case("a malformed Lua message fails only itself", function()
	local h = wisp.newservice("pong")
	t.ok(wisp.rawsend(h, "lua", "\x01\xca"), "rawsend")
	t.eq(wisp.call(h, "ping"), "pong", "the service goes on")
	t.eq(wisp.stats(h).handled >= 2, true)
end)

t.case("a type nobody handles is answered with an error", function()
	local h = wisp.newservice("pong")
	wisp.rawsend(h, 30, "x")
	t.eq(wisp.call(h, "ping"), "pong", "the service goes on")
end)

t.case("pack and unpack", function()
	local s = wisp.pack(1, "two", { 3 })
	local a, b, c = wisp.unpack(s)
	t.eq(a, 1)
	t.eq(b, "two")
	t.eq(c[1], 3)
	t.raises("cannot serialize a function", wisp.pack, print)
	local cyclic = {}
	cyclic.self = cyclic
	t.raises("cycle", wisp.send, pong, cyclic)
end)

t.case("env, time, address, stats", function()
	t.eq(wisp.getenv("greeting"), "hello")
	t.eq(wisp.getenv("nothing"), nil)
	local a = wisp.now()
	wisp.sleep(20)
	t.ok(wisp.now() - a >= 20, "now moves")
	t.ok(wisp.address(wisp.self()):match("^:%x%x%x%x%x%x%x%x$"), "address")
	local s = wisp.stats(pong)
	t.ok(s.handled > 100, "handled " .. s.handled)
	t.eq(s.mailbox, 0)
	t.ok(s.memory > 1000, "memory " .. s.memory)
	t.ok(s.cpu_ms >= 0, "cpu")
	t.eq(wisp.stats(12345678), nil)
end)

t.run()
