-- owners.lua: run by game1 and game2 of owners_cluster.lua at once: rows
-- of player (owned by db1) and of score (owned by db2) written and read
-- under load, through wisp.db (which asks each table's owner) and through
-- the wrong db node on purpose (which hands the request to the owner).
local wisp = require "wisp"
local cluster = require "wisp.cluster"
local db = require "wisp.db"
local t = require "testing"

local me = cluster.self()
local players = db.table("player", { pk = "id", fk = "account", auto = true })
local scores = db.table("score", { pk = "id", auto = true })
local TASKS, EACH = 20, 25

-- Runs fn(task) in TASKS tasks at once; raises the first error.
local function parallel(fn)
	local running, failure, me_co = TASKS, nil, coroutine.running()
	for task = 1, TASKS do
		wisp.fork(function()
			local ok, err = pcall(fn, task)
			failure = failure or (not ok and err) or nil
			running = running - 1
			if running == 0 then
				wisp.wakeup(me_co)
			end
		end)
	end
	wisp.wait()
	if failure then
		error(failure, 0)
	end
end

t.case("both db nodes answer", function()
	for _, node in ipairs({ "db1", "db2" }) do
		local deadline = wisp.now() + 20000
		while not pcall(db.stats, node) do
			t.ok(wisp.now() < deadline, node .. " answers within 20 s")
			wisp.sleep(100)
		end
	end
end)

local written = {} -- player id -> score id

t.case("writes to both owners under load, from two game nodes", function()
	parallel(function(task)
		for i = 1, EACH do
			local name = string.format("%s-%d-%d", me, task, i)
			local p = players.new({ account = me, name = name })
			local s = scores.new({ name = name, points = task * 100 + i })
			written[p.id] = s.id
			t.eq(players.incr(p.id, "gold", i), i, "incr on db1")
			t.eq(scores.update(s.id, { points = i }), true, "update on db2")
		end
	end)
	local n = 0
	for pid, sid in pairs(written) do
		t.eq(players.get(pid).account, me, "player " .. pid)
		t.eq(scores.get(sid).name, players.get(pid).name, "score " .. sid)
		n = n + 1
	end
	t.eq(n, TASKS * EACH, "every row written")
	t.eq(#players.by_fk(me), TASKS * EACH, "by_fk on db1 sees them all")
end)

t.case("the wrong db node hands a request to the owner", function()
	local pid, sid = next(written)
	local row = wisp.call("db@db1", "get", "score", sid)
	t.eq(row and row.id, sid, "db1 gets db2's score row")
	row = wisp.call("db@db2", "get", "player", pid)
	t.eq(row and row.id, pid, "db2 gets db1's player row")
	local made = wisp.call("db@db1", "new", "score", { name = me .. "-via-db1",
		points = -1 })
	t.eq(scores.get(made.id).name, me .. "-via-db1", "a write through db1 "
		.. "is on db2")
	local ok, err = pcall(wisp.call, "db@db2", "update", "player", pid,
		{ nope = 1 })
	t.eq(ok, false, "a mistake through the wrong node")
	t.ok(tostring(err):find("db: table player has no column 'nope'", 1, true),
		tostring(err))
	local page = wisp.call("db@db1", "range", "score", { by = "points",
		limit = 5 })
	t.eq(page.rows[1].points, -1, "range through db1, ordered on db2")
end)

t.case("each owner counts only its own writes", function()
	local s1, s2 = db.stats("db1"), db.stats("db2")
	t.ok(s1.rows >= TASKS * EACH * 2, "db1 committed the players")
	t.ok(s2.rows >= TASKS * EACH * 2, "db2 committed the scores")
end)

t.run()
