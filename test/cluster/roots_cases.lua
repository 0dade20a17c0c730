-- roots_cases.lua: the root failover cases as node b sees them, run in
-- order while test_roots.c drives the roots: it logs "KILL r1" for the
-- driver to kill -9 the first root, and "RESTART r1" for it to start that
-- root again, then waits for the driver's gate file. Node a is reached
-- through its svc (roots_node.lua), the roots through their probe
-- (root_probe.lua). This service answers pings under the names it claims
-- along the way.
local wisp = require "wisp"
local t = require "testing"

local QUIET_MS = 2500 -- no node event in this long: five join retries

local claimed = {} -- cluster-wide names this service took

wisp.dispatch("lua", function(_, cmd, ...)
	if cmd == "ping" then
		return "pong", table.concat(claimed, ","), ...
	end
	error("roots_cases: unknown command " .. tostring(cmd))
end)

local events = {} -- b's node events, "down r1", ... in the order seen
wisp.monitor_nodes(function(event, name)
	events[#events + 1] = event .. " " .. name
end)

local wait_for = t.wait_for

-- True once `list` has, after index `from`, each of `want` in that order.
local function seen_in_order(list, from, want)
	local i = 1
	for k = from + 1, #list do
		if list[k] == want[i] then
			i = i + 1
		end
	end
	return i > #want
end

local function a_events(from)
	return wisp.call("svc@a", "events", from)
end

local function pong_from(addr)
	local a, who = wisp.call(addr, "ping")
	t.eq(a, "pong", "the answer of " .. addr)
	return who
end

local function claim(name)
	wisp.register_global(name)
	claimed[#claimed + 1] = name
end

-- a calls name (through a's own directory replica) and gets this service.
local function a_reaches(name)
	wait_for("a to know " .. name, 5000, function()
		return wisp.call("svc@a", "query", name) == wisp.self()
	end)
	local a, who = wisp.call("svc@a", "relay", name, "ping")
	t.eq(a, "pong", "a -> b by " .. name)
	t.eq(who, table.concat(claimed, ","), "a -> b by " .. name .. ": who")
end

-- The root's table: who joined it, who holds name.
local function root_has(root, joined, names)
	t.eq(wisp.call("probe@" .. root, "joined"), joined, root .. ": joined")
	for name, holder in pairs(names) do
		t.eq(wisp.call("probe@" .. root, "holder", name), holder or nil,
			root .. ": the holder of " .. name)
	end
end

local handle_a, handle_b -- the two roots_node services

t.case("a and b joined r1, which holds their names", function()
	wait_for("the name svc_a", 10000, function()
		return wisp.query("svc_a")
	end)
	handle_a = wisp.call("svc@a", "whoami")
	handle_b = wisp.query("svc")
	t.eq(wisp.query("svc_a"), handle_a, "svc_a is a's svc")
	t.eq(wisp.query("svc_b"), handle_b, "svc_b is b's svc")
	t.eq(pong_from("svc_a"), "svc_a", "b -> a by cluster-wide name")
	t.eq(select(2, wisp.call("svc@a", "relay", "svc_b", "ping")), "svc_b",
		"a -> b by cluster-wide name")
	claim("early_b")
	a_reaches("early_b")
	root_has("r1", "a,b", { svc_a = handle_a, svc_b = handle_b,
		early_b = wisp.self() })
	root_has("r2", "", { svc_a = false, svc_b = false })
end)

t.case("kill -9 r1: a and b join r2 and claim their names there", function()
	local b_seen, a_seen = #events, select(2, a_events())
	wisp.log("KILL r1")
	local want = { "down r1", "up r2" }
	wait_for("b to see r1 down, then r2 up", 10000, function()
		return seen_in_order(events, b_seen, want)
	end)
	wait_for("a to see r1 down, then r2 up", 10000, function()
		return seen_in_order(a_events(), a_seen, want)
	end)
	wait_for("r2 to have a and b joined", 5000, function()
		return wisp.call("probe@r2", "joined") == "a,b"
	end)
	-- the names come back as each node claims them again at r2
	wait_for("r2 to hold every name again", 5000, function()
		return wisp.call("probe@r2", "holder", "svc_a") == handle_a
			and wisp.call("probe@r2", "holder", "svc_b") == handle_b
			and wisp.call("probe@r2", "holder", "early_b") == wisp.self()
	end)
	t.eq(pong_from("svc_a"), "svc_a", "b -> a by cluster-wide name")
	a_reaches("early_b")
	t.eq(select(2, wisp.call("svc@a", "relay", "svc_b", "ping")), "svc_b",
		"a -> b's svc by cluster-wide name")
end)

t.case("a name claimed on b after the failover is callable from a",
	function()
		claim("late_b")
		t.eq(wisp.call("probe@r2", "holder", "late_b"), wisp.self(),
			"r2 holds late_b")
		a_reaches("late_b")
	end)

t.case("r1 restarted: the nodes stay on r2 and calls still work", function()
	local b_seen, a_seen = #events, select(2, a_events())
	t.ask_driver("RESTART r1", "r1.restarted")
	-- r1 answers again, but knows no node and no name
	wait_for("r1's probe to answer", 5000, function()
		return pcall(wisp.call, "probe@r1", "joined")
	end)
	wisp.sleep(QUIET_MS)
	t.eq(table.concat(events, ", ", b_seen + 1), "",
		"b's node events since r1 restarted")
	t.eq(table.concat(a_events(a_seen), ", "), "",
		"a's node events since r1 restarted")
	root_has("r1", "", { svc_a = false, late_b = false })
	root_has("r2", "a,b", { svc_a = handle_a, svc_b = handle_b,
		late_b = wisp.self() })
	t.eq(pong_from("svc_a"), "svc_a", "b -> a by cluster-wide name")
	a_reaches("late_b")
	claim("last_b")
	t.eq(wisp.call("probe@r2", "holder", "last_b"), wisp.self(),
		"r2 holds last_b")
	t.eq(wisp.call("probe@r1", "holder", "last_b"), nil,
		"r1 does not hold last_b")
	a_reaches("last_b")
end)

t.run()
