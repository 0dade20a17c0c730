-- owners_skew.lua: run by game1 of owners_cluster.lua once db2 was started
-- again with a config that disagrees (WISP_OWNERS_SKEW: db2 no longer
-- lists score, so it takes db1 for its owner, while db1 still takes db2).
-- A request is then handed from one db node to the other once, never back:
-- the second refuses it with an error that names the disagreement.
local wisp = require "wisp"
local db = require "wisp.db"
local t = require "testing"

local scores = db.table("score", { pk = "id", auto = true })
local DISAGREE = "was forwarded here, but node (%w+) owns it: do the db "
	.. "nodes run one config%?"

t.case("db nodes whose configs disagree refuse, not loop", function()
	local deadline = wisp.now() + 20000
	while not pcall(db.stats, "db2") do
		t.ok(wisp.now() < deadline, "db2 answers within 20 s")
		wisp.sleep(100)
	end
	local ok, err
	repeat -- until db1 too has seen db2 back
		ok, err = pcall(wisp.call, "db@db1", "get", "score", 1)
		t.ok(wisp.now() < deadline, "db1 reaches db2 within 20 s")
		wisp.sleep(ok and 0 or 50)
	until ok or wisp.now() >= deadline
		or not tostring(err):find("did not answer", 1, true)
	t.eq(ok, false, "db1 hands it to db2, which hands it to no one")
	t.eq(tostring(err):match(DISAGREE), "db1", tostring(err))
	ok, err = pcall(scores.get, 1)
	t.eq(ok, false, "db2 hands it to db1, which hands it to no one")
	t.eq(tostring(err):match(DISAGREE), "db2", tostring(err))
	t.eq(wisp.call("db@db1", "get", "player", 1).id, 1,
		"what they agree on is served")
end)

t.run()
