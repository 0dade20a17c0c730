-- game1.lua: the cluster tests as game1 sees them, run in order by the
-- harness while test_cluster.c drives the other processes. It answers as
-- "pong" (and "pong1" cluster-wide) for game2's calls back, logs the
-- markers the driver waits for ("GARBAGE NOW", "RESTART game3") and waits
-- for the driver's moves through node events and a gate file. Its order
-- checks send numbered streams to game2 (sequence.lua, sender.lua).
local wisp = require "wisp"
local t = require "testing"
local sequence = require "sequence"

local GAME2_ID, GAME3_ID = 3, 4
local BUSY_MS = 2500 -- longer than harbor.timeout in cluster.lua
local SEQ_COUNT = 10000 -- numbered messages per sender in the order checks

local events = {} -- "up game2", "down game3", ... in the order seen
wisp.monitor_nodes(function(event, name)
	events[#events + 1] = event .. " " .. name
end)

wisp.dispatch("lua", function(_, cmd, ...)
	if cmd == "ping" then
		return "pong", "pong1", ...
	elseif cmd == "whoami" then
		return wisp.self(), "pong1"
	end
	error("game1: unknown command " .. tostring(cmd))
end)
wisp.register("pong")

local wait_for = t.wait_for

local function event_after(first, want)
	return function()
		for i = first + 1, #events do
			if events[i] == want then
				return true
			end
		end
	end
end

local function node_info(name)
	for _, n in ipairs(wisp.nodes()) do
		if n.name == name then
			return n
		end
	end
end

local function node_of(handle)
	return handle >> 22
end

-- game1 calls game2 by every kind of address.
local function check_game1_to_game2()
	local a, b, c = wisp.call("pong@game2", "ping", 1)
	t.eq(a, "pong", "by name@node")
	t.eq(b, "pong2", "by name@node: who")
	t.eq(c, 1, "by name@node: argument")
	local _, who, n = wisp.call("pong2", "ping", 2)
	t.eq(who, "pong2", "by cluster-wide name")
	t.eq(n, 2, "by cluster-wide name: argument")
	local handle = wisp.call("pong2", "whoami")
	t.eq(math.type(handle), "integer", "a handle in the reply")
	t.eq(node_of(handle), GAME2_ID, "the handle's node")
	_, who, n = wisp.call(handle, "ping", 3)
	t.eq(who, "pong2", "by a handle learned from a reply")
	t.eq(n, 3)
	_, who = wisp.call(wisp.address(handle), "ping")
	t.eq(who, "pong2", "by a handle as text")
end

-- game2 calls game1 by every kind of address.
local function check_game2_to_game1()
	local me = wisp.self()
	for _, addr in ipairs({ "pong@game1", "pong1", me }) do
		local a, who, n = wisp.call("pong@game2", "relay", addr, "ping", 7)
		t.eq(a, "pong", "game2 -> game1 by " .. tostring(addr))
		t.eq(who, "pong1", "game2 -> game1 by " .. tostring(addr))
		t.eq(n, 7)
	end
	local handle, a, who, arg = wisp.call("pong2", "learn", "pong@game1")
	t.eq(handle, me, "game2 learned game1's handle")
	t.eq(a, "pong", "game2 -> game1 by a learned handle")
	t.eq(who, "pong1")
	t.eq(arg, "learned")
end

t.case("the cluster is up and its names are known", function()
	wait_for("game2 and game3 up", 10000, function()
		local g2, g3 = node_info("game2"), node_info("game3")
		return g2 and g2.up and g3 and g3.up
	end)
	wait_for("the names pong2 and pong3", 10000, function()
		return wisp.query("pong2") and wisp.query("pong3")
	end)
	wisp.register_global("pong1")
	t.eq(wisp.query("pong1"), wisp.self(), "pong1 is this service")
	-- game2 learns of pong1 from the root, maybe after this call reaches it
	wait_for("game2 to know pong1", 5000, function()
		return pcall(wisp.call, "pong@game2", "relay", "pong1", "ping")
	end)
end)

t.case("calls by every kind of name, game1 -> game2", check_game1_to_game2)

t.case("calls by every kind of name, game2 -> game1", check_game2_to_game1)

-- game2's pong by each kind of address: one receiver all the same
local function game2_addresses()
	return { wisp.call("pong2", "whoami"), "pong@game2", "pong2" }
end

t.case("10,000 sends game1 -> game2 arrive in order, calls between",
	function()
		sequence.send(game2_addresses(), "solo", SEQ_COUNT, 1000)
	end)

t.case("two senders on game1 to one receiver: each in its own order",
	function()
		local addrs = game2_addresses()
		local senders = { wisp.newservice("sender"), wisp.newservice("sender") }
		local results = {}
		for i, sender in ipairs(senders) do
			wisp.fork(function()
				-- the same stream name: game2 must tell them by sender
				results[i] = { pcall(wisp.call, sender, "run", addrs, "pair",
					SEQ_COUNT, 250) }
			end)
		end
		wait_for("both senders", 20000, function()
			return results[1] and results[2]
		end)
		for i, sender in ipairs(senders) do
			t.ok(results[i][1], "sender " .. i .. ": " .. tostring(results[i][2]))
			t.eq(results[i][2], sender, "sender " .. i .. " ran as itself")
			wisp.kill(sender)
		end
	end)

-- the harbor's heartbeat must keep a link up while calls stream over it:
-- each direction's connection then only ever carries one way
t.case("a link busy with calls outlives harbor.timeout", function()
	local handle = wisp.call("pong2", "whoami")
	local started, n = wisp.now(), 0
	while wisp.now() - started < BUSY_MS do
		n = n + 1
		local _, _, back = wisp.call(handle, "ping", n)
		if back ~= n then
			error("call " .. n .. " answered " .. tostring(back))
		end
	end
	wisp.log(n .. " calls in " .. BUSY_MS .. " ms")
	t.ok(node_info("game2").linked, "the link to game2 is still up")
end)

t.case("a 10 MB payload arrives intact, compressed on the wire", function()
	-- 320 blocks of 32 KiB, each with its own number, built fast so that
	-- game1 does not stall its links for long
	local lines = {}
	for i = 1, 1023 do
		lines[i] = string.format("%-31s\n", "line " .. i .. " of a block")
	end
	local body = table.concat(lines) .. string.rep(".", 15) .. "\n"
	local blocks = {}
	for i = 1, 320 do
		blocks[#blocks + 1] = string.format("%-15s\n", "block " .. i)
		blocks[#blocks + 1] = body
	end
	local payload = table.concat(blocks)
	t.eq(#payload, 10 * 1024 * 1024, "payload size")
	local before = node_info("game2")
	local back, size = wisp.call("pong@game2", "echo", payload)
	local after = node_info("game2")
	t.eq(size, #payload, "size game2 received")
	t.ok(back == payload, "the payload came back the same")
	local sent = after.bytes_out - before.bytes_out
	local received = after.bytes_in - before.bytes_in
	wisp.log(string.format("10 MB payload: %d bytes out, %d bytes in", sent,
		received))
	t.ok(sent > 0 and sent < 2 * 1024 * 1024, "bytes out " .. sent
		.. " far below 10 MB")
	t.ok(received > 0 and received < 2 * 1024 * 1024, "bytes in " .. received
		.. " far below 10 MB")
end)

t.case("an incompressible 12 MB payload, more than a socket may buffer", function()
	-- pseudo-random bytes do not compress: the link must hold the whole
	-- frame (socket_write_limit is 4 MB; a link's limit is harbor.buffer).
	-- 1 MB of them, repeated: zstd's fast levels look back less than 1 MB,
	-- and building it quickly keeps this node's heartbeats going
	local parts, x = {}, 12345
	for i = 1, 1024 * 1024 / 8 do
		x = (x * 1103515245 + 12345) & 0x7fffffff
		parts[i] = string.pack("<i8", x * 2654435761)
	end
	local payload = string.rep(table.concat(parts), 12)
	local before = node_info("game2")
	local back, size = wisp.call("pong@game2", "echo", payload)
	t.eq(size, #payload, "size game2 received")
	t.ok(back == payload, "the payload came back the same")
	local sent = node_info("game2").bytes_out - before.bytes_out
	t.ok(sent > 8 * 1024 * 1024, "it did not compress: " .. sent .. " bytes")
	t.ok(node_info("game2").linked, "the link to game2 is still up")
end)

t.case("random bytes to game2's harbor close only their connection",
	function()
		t.ask_driver("GARBAGE NOW", "garbage.done")
		t.ok(node_info("game2").linked, "the link to game2 is still up")
		check_game1_to_game2()
		check_game2_to_game1()
	end)

t.case("kill -9 game3: a pending call fails at once, the rest works",
	function()
		local seen = #events
		local started = wisp.now()
		-- the driver kills game3 once its log shows the call arrived
		local ok, err = pcall(wisp.call, "pong@game3", "slow", 25000)
		local took = wisp.now() - started
		wisp.log("the pending call ended after " .. took .. " ms: "
			.. tostring(err))
		t.eq(ok, false, "the call to game3 failed")
		t.ok(tostring(err):find("game3 is down"), "the error says game3 is "
			.. "down: " .. tostring(err))
		t.ok(took < 5000, "it failed within 5 s, after " .. took .. " ms")
		wait_for("the monitor to see game3 down", 5000,
			event_after(seen, "down game3"))
		t.eq(node_info("game3").up, false, "wisp.nodes() has game3 down")
		t.eq(wisp.query("pong3"), nil, "pong3 went with game3")
		check_game1_to_game2()
		check_game2_to_game1()
	end)

t.case("game3 restarted rejoins and is reachable by name", function()
	local seen = #events
	wisp.log("RESTART game3")
	wait_for("the monitor to see game3 up", 15000,
		event_after(seen, "up game3"))
	wait_for("the name pong3 again", 10000, function()
		return wisp.query("pong3")
	end)
	local a, who = wisp.call("pong3", "ping")
	t.eq(a, "pong", "by cluster-wide name")
	t.eq(who, "pong3")
	a, who = wisp.call("pong@game3", "ping")
	t.eq(a, "pong", "by name@node")
	t.eq(who, "pong3")
	local handle = wisp.call("pong@game3", "whoami")
	t.eq(node_of(handle), GAME3_ID, "the new game3's handle")
	t.eq(select(2, wisp.call(handle, "ping")), "pong3", "by that handle")
	local _, back = wisp.call("pong@game3", "relay", "pong1", "ping")
	t.eq(back, "pong1", "game3 -> game1 by cluster-wide name")
	t.ok(node_info("game3").up, "wisp.nodes() has game3 up")
end)

t.run()
