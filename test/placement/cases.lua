-- cases.lua: the placement cases, on the net node of test/placement/
-- cluster.lua, while test_placement.c plays the world around them: it
-- kills game3 and starts it again, and drives clients through the gate
-- while game2 is killed and started again.
local wisp = require "wisp"
local t = require "testing"

local KEYS = 1000
local ids = { game1 = 3, game2 = 4, game3 = 5 }

local function node(name)
	for _, n in ipairs(wisp.nodes()) do
		if n.name == name then
			return n
		end
	end
end

local function picks()
	local out = {}
	for i = 1, KEYS do
		out[i] = wisp.pick("node", "player" .. i)
	end
	return out
end

-- Waits for the driver's file (as ask_driver, with a longer patience:
-- it starts and stops nodes meanwhile).
local function wait_driver(marker, file)
	local path = wisp.getenv("gate") .. "/" .. file
	wisp.log(marker)
	t.wait_for("the driver's " .. path, 50000, function()
		local f = io.open(path)
		return f and f:close()
	end)
end

local function wait_up(name, up)
	t.wait_for(name .. (up and " up" or " down"), 20000, function()
		return node(name).up == up
	end)
end

t.case("the game nodes are up", function()
	for name in pairs(ids) do
		wait_up(name, true)
	end
end)

t.case("newservice_at starts a service on another node", function()
	local h = wisp.newservice_at("game2", "agent", "a", 2, { k = "v" })
	t.eq(h >> 22, ids.game2, "the handle's node")
	local where, a, b, c = wisp.call(h, "whoami")
	t.eq(where, "game2")
	t.eq(a, "a")
	t.eq(b, 2)
	t.eq(c.k, "v")
	local here = wisp.newservice_at("net", "agent", "local")
	t.eq(wisp.call(here, "whoami"), "net")
end)

t.case("a start that fails on another node raises its reason", function()
	t.raises("service failing failed to start on node game2: .*cannot "
		.. "start: on purpose", wisp.newservice_at, "game2", "failing")
	t.raises("service nosuch failed to start on node game2: .*script "
		.. "'nosuch' not found", wisp.newservice_at, "game2", "nosuch")
end)

t.case("an unknown or down node raises", function()
	t.raises("service agent failed to start on node nowhere: no such node "
		.. "in the config", wisp.newservice_at, "nowhere", "agent")
	t.raises("service agent failed to start on node game4: node game4 is "
		.. "down", wisp.newservice_at, "game4", "agent")
end)

t.case("pick is the same on two nodes and spreads keys evenly", function()
	local mine = picks()
	local theirs = wisp.call("probe@game1", "picks", KEYS)
	local count = {}
	for i = 1, KEYS do
		t.eq(theirs[i], mine[i], "game1's pick for player" .. i)
		count[mine[i]] = (count[mine[i]] or 0) + 1
	end
	for name in pairs(ids) do
		local n = count[name] or 0
		wisp.log(string.format("pick: %d of %d keys on %s", n, KEYS, name))
		t.ok(n >= 300 and n <= 367, name .. " has " .. n .. " keys")
	end
	t.raises("no node of role 'db' is up", wisp.pick, "db", "k")
	t.eq(wisp.pick({ "game3", "game4" }, "k"), "game3", "the up one of a list")
	t.eq(wisp.pick("node", 42), wisp.pick("node", "42"), "a number key")
end)

t.case("pick_least_loaded avoids the busy node", function()
	wisp.pick_least_loaded("node") -- asks the root for the loads
	t.eq(wisp.call("probe@game1", "load", 300), 300)
	t.wait_for("game1's report", 10000, function()
		local g1, g2 = node("game1"), node("game2")
		return g1.services and g2.services and g1.services > g2.services + 250
	end)
	for _ = 1, 20 do
		local picked = wisp.pick_least_loaded("node")
		t.ok(picked ~= "game1", "picked game1, which has 300 more services")
	end
end)

t.case("a node that goes away moves only its keys", function()
	local before = picks()
	wait_driver("KILL game3", "game3.killed")
	wait_up("game3", false)
	t.raises("node game3 is down", wisp.newservice_at, "game3", "agent")
	local after, moved = picks(), 0
	for i = 1, KEYS do
		if before[i] == "game3" then
			t.ok(after[i] ~= "game3", "player" .. i .. " still on game3")
			moved = moved + 1
		else
			t.eq(after[i], before[i], "player" .. i .. "'s node")
		end
	end
	t.ok(moved > 0, "game3 had keys")
	wait_driver("START game3", "game3.started")
	wait_up("game3", true)
	after = picks()
	for i = 1, KEYS do
		t.eq(after[i], before[i], "player" .. i .. "'s node once game3 is back")
	end
end)

-- The driver's clients use the route to board@game2 across a kill -9 and
-- a restart of game2, then send 1000 commands: after the first, they go
-- by handle, not by name.
t.case("a route to service@node is resolved once, and again after a "
	.. "restart", function()
	local before = node("game2")
	wait_driver("GATE NOW", "gate.done")
	local after = node("game2")
	local frames = after.frames_out - before.frames_out
	local named = after.named_out - before.named_out
	wisp.log(string.format("to game2: %d frames, %d by name", frames, named))
	t.ok(frames >= 1000, "frames to game2: " .. frames)
	t.ok(named < 50, named .. " of " .. frames .. " frames to game2 by name")
end)

t.run()
