-- restart.lua: after api.lua, the driver stopped the db node, added the
-- migration 002_more.sql and started it again. The rows written before
-- are there, the payload rows come back intact (first from sqlite, then
-- from the cache), and 002 changed the schema and the static table.
local db = require "wisp.db"
local t = require "testing"
local dbtest = require "dbtest"

local players = db.table("player", { pk = "id", fk = "account" })
local payloads = db.table("payload", { pk = "id" })

t.case("the db node answers", function()
	dbtest.wait_db(20000)
end)

t.case("rows written before the restart are there", function()
	local own = players.by_fk("ann")
	t.eq(#own, 1, "ann's players")
	local p = players.get(own[1].id)
	t.eq(p.name, "Anna", "name")
	t.eq(p.level, 6, "level")
	t.eq(p.gold, 5, "gold")
	t.eq(p.speed, 1.5, "speed")
	t.eq(#players.by_fk("batch5"), 9, "the first batch's rows")
	t.eq(#players.by_fk("batch10"), 9, "the second batch's rows")
end)

-- The first get reads sqlite (the cache is new, or its generation is);
-- the second is a hit, but for the incompressible 1 MB row in memcached,
-- which is too large for it.
t.case("quotes, NULs and 1 MB round-trip through the restart", function()
	local rows = dbtest.payloads()
	for _, id in ipairs(dbtest.payload_ids) do
		local before = db.stats().cache
		dbtest.same_row(payloads.get(id), rows[id], "get " .. id)
		local after = db.stats().cache
		t.eq(after.misses, before.misses + 1,
			id .. ": a miss, read from sqlite")
		dbtest.same_row(payloads.get(id), rows[id], "get " .. id .. " again")
		local cached = id ~= "noise" or dbtest.cache_kind() == "memory"
		t.eq(db.stats().cache.hits, after.hits + (cached and 1 or 0),
			id .. ": a hit the second time")
	end
	local all = payloads.get_many(dbtest.payload_ids)
	for _, id in ipairs(dbtest.payload_ids) do
		dbtest.same_row(all[id], rows[id], "get_many " .. id)
	end
end)

t.case("the migration added at the restart was applied", function()
	local id = players.by_fk("ann")[1].id
	players.update(id, { title = "Sir" })
	t.eq(players.get(id).title, "Sir", "the column 002 added")
	local items = db.static("item")
	t.eq(items[1].price, 15, "002's change, loaded at the start")
	t.eq(items[3].name, "bow", "002's new row")
end)

t.run()
