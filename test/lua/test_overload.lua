-- test_overload.lua: bounded mailboxes. A send to a full mailbox fails at
-- once ("overloaded"), a call to it raises, the memory stays bounded, and
-- answers, timers and calls from others still get through.
local wisp = require "wisp"
local t = require "testing"

local sanitized = os.getenv("WISP_SANITIZED") == "1"

-- The node's resident memory in KB, from /proc.
local function rss_kb()
	local f = assert(io.open("/proc/self/status"))
	local text = f:read("a")
	f:close()
	return tonumber(text:match("VmRSS:%s*(%d+)"))
end

-- Sends n messages to addr without yielding (so the receiver cannot run):
-- how many went in, how many were refused, and the first refusal's reason.
local function flood(addr, n, payload)
	local sent, refused, why = 0, 0, nil
	for i = 1, n do
		local ok, err = wisp.send(addr, "ping", payload or i)
		if ok then
			sent = sent + 1
		else
			refused = refused + 1
			why = why or err
		end
	end
	return sent, refused, why
end

-- Waits until the pong service has served everything queued to it.
local function drained(addr)
	t.wait_for("a drained mailbox", 30000, function()
		return wisp.stats(addr).mailbox == 0
	end)
end

t.case("a full mailbox refuses sends at once, naming why", function()
	local pong = wisp.newservice("pong")
	wisp.call(pong, "mailbox", 1000, 1 << 30)
	local sent, refused, why = flood(pong, 5000)
	t.eq(sent, 1000, "sends queued")
	t.eq(refused, 4000, "sends refused")
	t.eq(why, "overloaded")
	t.eq(wisp.stats(pong).refused, 4000, "refusals counted by the receiver")
	drained(pong)
	t.eq(wisp.send(pong, "ping"), true, "room again once drained")
	t.eq(wisp.call(pong, "count"), 1001)
end)

t.case("the default limit holds 100,000 requests", function()
	local pong = wisp.newservice("pong")
	local started = wisp.now()
	local sent, refused = flood(pong, 120000)
	t.eq(sent, 100000, "the default mailbox_limit")
	t.eq(refused, 20000)
	wisp.log("120,000 sends in " .. (wisp.now() - started) .. " ms")
	drained(pong)
end)

t.case("queued bytes count against mailbox_bytes", function()
	local pong = wisp.newservice("pong")
	wisp.call(pong, "mailbox", 1000000, 1 << 20)
	local sent, refused = flood(pong, 2000, string.rep("x", 4096))
	t.ok(sent > 200 and sent <= 256, sent .. " 4 KB messages in 1 MB")
	t.eq(sent + refused, 2000)
	drained(pong)
end)

t.case("queued bytes count against a Lua service's memory limit", function()
	local pong = wisp.newservice("pong")
	local used = wisp.call(pong, "memory")
	wisp.call(pong, "limit", used + (4 << 20))
	local before = rss_kb()
	local sent, refused, why = flood(pong, 40000, string.rep("y", 4096))
	local grown_mb = (rss_kb() - before) / 1024
	t.ok(sent <= 1024, sent .. " 4 KB messages under a 4 MB margin")
	t.ok(refused >= 38976, "refused " .. refused)
	t.eq(why, "overloaded")
	if not sanitized then
		t.ok(grown_mb < 40, "RSS grew " .. grown_mb .. " MB (160 MB unbounded)")
	end
	drained(pong)
end)

t.case("a call to a full service raises 'overloaded'", function()
	local pong = wisp.newservice("pong", "full_one")
	wisp.call(pong, "mailbox", 10, 1 << 30)
	flood(pong, 10)
	t.raises("service full_one %(:%x+%) is overloaded", wisp.call, pong,
		"count")
	drained(pong)
	t.eq(wisp.call(pong, "count"), 10)
end)

t.case("answers and timers reach a service whose mailbox is full", function()
	local pong = wisp.newservice("pong")
	local slow = wisp.newservice("pong")
	wisp.call(pong, "mailbox", 5, 1 << 30)
	local got
	wisp.fork(function()
		-- pong waits 50 ms in its own call to slow, then 50 ms asleep
		got = wisp.call(pong, "relay", slow, "slow", 50, "answered")
	end)
	wisp.sleep(0)
	local sent = flood(pong, 100)
	t.ok(sent == 4 or sent == 5, sent .. " queued besides the relay")
	t.wait_for("the relayed answer", 5000, function() return got end)
	t.eq(got, "answered")
	drained(pong)
end)

t.case("others get in while one sender floods", function()
	local pong = wisp.newservice("pong")
	wisp.call(pong, "mailbox", 2000, 1 << 30)
	local flooding = true
	wisp.fork(function()
		while flooding do
			flood(pong, 5000)
			wisp.sleep(0)
		end
	end)
	local answered, refused = 0, 0
	for _ = 1, 200 do
		local ok, err = pcall(wisp.call, pong, "ping")
		if ok then
			answered = answered + 1
		else
			t.ok(tostring(err):find("overloaded"), tostring(err))
			refused = refused + 1
		end
		wisp.sleep(1)
	end
	flooding = false
	t.eq(answered + refused, 200, "every call ended")
	t.ok(answered > 0, "answered " .. answered .. ", refused " .. refused)
	drained(pong)
end)

t.case("mailbox_limit checks its arguments", function()
	t.raises("at least 1", wisp.mailbox_limit, 0, 100)
	t.raises("at least 1", wisp.mailbox_limit, 100, 0)
end)

t.run()
