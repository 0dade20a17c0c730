-- api.lua: every call of wisp.db and every error it raises, from a game
-- node to the db node of another process; a static table changed behind
-- the db node's back (the driver runs the sqlite3 CLI at "CHANGE ITEM")
-- and reloaded; the payload rows (quotes, NULs, 1 MB), which restart.lua
-- reads again after the db node restarted; text keys of any bytes.
local wisp = require "wisp"
local db = require "wisp.db"
local t = require "testing"
local dbtest = require "dbtest"

local fails = dbtest.fails
local players = db.table("player", { pk = "id", fk = "account", auto = true })
local counters = db.table("counter", { pk = "id" })
local items = db.table("item", { pk = "id" })
local payloads = db.table("payload", { pk = "id" })

local function count(map)
	local n = 0
	for _ in pairs(map) do
		n = n + 1
	end
	return n
end

t.case("the db node answers", function()
	dbtest.wait_db(20000)
end)

t.case("declarations are checked against the database", function()
	t.eq(players.get(1), nil, "a missing row")
	fails("table player has the primary key id, not name",
		db.table("player", { pk = "name" }).get, 1)
	fails("table player has no column 'acount'",
		db.table("player", { pk = "id", fk = "acount" }).get, 1)
	fails("table counter: its primary key id is not INTEGER PRIMARY KEY",
		db.table("counter", { pk = "id", auto = true }).get, "x")
	fails("unknown table 'nope'", db.table("nope").get, 1)
	fails("table pair has a primary key of several columns",
		db.table("pair").get, 1)
	fails("table loose has no primary key", db.table("loose").get, 1)
	-- the service's own tables are not the game's
	fails("unknown table 'wisp_migrations'",
		db.table("wisp_migrations").get, "001_init.sql")
	local ok, err = pcall(counters.by_fk, "x")
	t.eq(ok, false, "by_fk without fk")
	t.ok(err:find("table counter was declared without fk", 1, true), err)
	ok, err = pcall(wisp.call, "db@db", "frobnicate")
	t.eq(ok, false, "an unknown operation")
	t.ok(err:find("db: unknown operation 'frobnicate'", 1, true), err)
end)

local ann -- the first player's id

t.case("new, get, get_many, by_fk, update, incr, delete", function()
	local p = players.new({ account = "ann", name = "Ann" })
	t.eq(math.type(p.id), "integer", "new assigns the id")
	t.eq(p.account, "ann", "new: account")
	t.eq(p.level, 1, "new: the column's default")
	t.eq(p.gold, 0, "new: gold's default")
	t.eq(p.speed, 1.0, "new: a REAL default")
	ann = p.id
	dbtest.same_row(players.get(ann), p, "get after new")
	local q = players.new({ id = 1000, account = "ann", name = "Ann2",
		level = 3, speed = 2.5 })
	t.eq(q.id, 1000, "new with its own id")
	t.eq(q.speed, 2.5, "a float")

	local many = players.get_many({ ann, 1000, 999999 })
	t.eq(count(many), 2, "get_many: the rows that exist")
	t.eq(many[ann].name, "Ann", "get_many: first")
	t.eq(many[1000].level, 3, "get_many: second")
	t.eq(count(players.get_many({})), 0, "get_many of no keys")
	local own = players.by_fk("ann")
	t.eq(#own, 2, "by_fk: both rows")
	t.eq(#players.by_fk("nobody"), 0, "by_fk: no rows")

	t.eq(players.update(ann, { level = 5, name = "Anna" }), true, "update")
	local u = players.get(ann)
	t.eq(u.level, 5, "update: the changed field")
	t.eq(u.name, "Anna", "update: another changed field")
	t.eq(u.account, "ann", "update: a field left alone")
	t.eq(players.update(ann, {}), true, "an empty update")
	t.eq(players.update(ann, { id = ann, level = 6 }), true,
		"the pk among the fields, unchanged")
	t.eq(players.get(ann).level, 6, "get after update")

	t.eq(players.incr(ann, "gold", 7), 7, "incr by 7")
	t.eq(players.incr(ann, "gold"), 8, "incr by default 1")
	t.eq(players.incr(ann, "gold", -3), 5, "incr by -3")
	t.eq(players.incr(ann, "speed", 0.5), 1.5, "incr of a REAL")
	t.eq(players.get(ann).gold, 5, "get after incr")
	local big = 1 << 62
	players.update(1000, { gold = big })
	t.eq(players.get(1000).gold, big, "a 63-bit integer")
	t.eq(players.incr(1000, "gold", 1), big + 1, "incr of a 63-bit integer")

	t.eq(players.delete(1000), true, "delete of a row")
	t.eq(players.delete(1000), false, "delete of a missing row")
	t.eq(players.get(1000), nil, "get after delete")
	t.eq(count(players.get_many({ 1000 })), 0, "get_many after delete")
	t.eq(#players.by_fk("ann"), 1, "by_fk after delete")

	t.eq(counters.new({ id = "sword", n = 2 }).id, "sword", "a text pk")
	t.eq(counters.incr("sword", "n", 40), 42, "incr on a text pk")
	t.eq(counters.get("sword").n, 42, "get on a text pk")
end)

t.case("a BOOLEAN column takes and gives booleans", function()
	local p = players.new({ account = "flag", name = "Flag", online = true })
	t.eq(p.online, true, "new returns it")
	t.eq(players.get(p.id).online, true, "get reads it back")
	t.eq(players.update(p.id, { online = false }), true, "update")
	t.eq(players.get(p.id).online, false, "false reads back false, not 0")
	t.eq(players.by_fk("flag")[1].online, false, "by_fk too")
	players.update(p.id, { level = 2 }) -- its cached copy is gone
	t.eq(players.get(p.id).online, false, "read again from the database")
	fails("player.online wants a boolean, got integer", players.update,
		p.id, { online = 1 })
	fails("player.online wants a boolean, got string", players.new,
		{ account = "flag", online = "yes" })
	t.eq(players.get(ann).online, nil, "NULL is left out")
	players.delete(p.id)
end)

t.case("errors name the table and the column", function()
	local before = players.get(ann)
	fails("table player has no column 'lvl'", players.update, ann, { lvl = 1 })
	fails("player.level wants an integer, got string", players.update, ann,
		{ level = "x" })
	fails("player.level wants an integer, got float", players.update, ann,
		{ level = 1.5 })
	fails("player.speed wants a number, got string", players.update, ann,
		{ speed = "fast" })
	fails("player.name wants a string, got integer", players.new,
		{ account = "bob", name = 5 })
	fails("player.data wants a string or a number, got boolean",
		players.update, ann, { data = true })
	fails("table player: UNIQUE constraint failed: player.name", players.new,
		{ account = "bob", name = "Anna" })
	local bob = players.new({ account = "bob", name = "Bob" }).id
	fails("table player: UNIQUE constraint failed: player.name",
		players.update, bob, { name = "Anna" })
	t.eq(players.get(bob).name, "Bob", "a failed update changes nothing")
	players.delete(bob)
	fails("table player: UNIQUE constraint failed: player.id", players.new,
		{ id = ann, account = "bob" })
	fails("table player: NOT NULL constraint failed: player.account",
		players.new, { name = "nobody's" })
	fails("player.id wants an integer, got string", players.get, "one")
	fails("table player: a primary key (id) is needed", players.get, nil)
	fails("table player: get_many takes a list of keys", players.get_many, "x")
	fails("player.id wants an integer, got string", players.get_many,
		{ 1, "two" })
	fails("player.account wants a string, got integer", players.by_fk, 5)
	fails("table player: new takes a row (a table)", players.new, "row")
	fails("table player: the fields must be a table, got string",
		players.update, ann, "x")
	fails("table player: update cannot change the primary key id",
		players.update, ann, { id = ann + 1 })
	fails("table player has no row 999999", players.update, 999999,
		{ level = 1 })
	fails("table player has no row 999999", players.incr, 999999, "gold", 1)
	fails("player.name is not a number column", players.incr, ann, "name", 1)
	fails("player.gold wants an integer, got float", players.incr, ann, "gold",
		1.5)
	fails("table player has no column 'nope'", players.incr, ann, "nope", 1)
	fails("table counter: the primary key id is needed", counters.new,
		{ n = 1 })
	dbtest.same_row(players.get(ann), before, "the row after the failed writes")
end)

-- The failing write in the middle of a batch, then last in it (on
-- PostgreSQL no write after it shows the transaction failed: the COMMIT's
-- answer does).
for _, bad in ipairs({ 5, 10 }) do
	t.case("a broken constraint fails its own write alone in a batch ("
		.. bad .. " of 10)", function()
		local results, tasks = {}, 10
		for i = 1, tasks do
			wisp.fork(function()
				-- one takes a name that is already there
				local name = i == bad and "Anna" or "batch " .. bad .. "." .. i
				results[i] = { pcall(players.new,
					{ account = "batch" .. bad, name = name }) }
			end)
		end
		t.wait_for("the batch", 10000, function()
			return count(results) == tasks
		end)
		for i = 1, tasks do
			t.eq(results[i][1], i ~= bad, "write " .. i .. " succeeded: "
				.. tostring(results[i][2]))
		end
		t.ok(results[bad][2]:find("UNIQUE constraint failed: player.name", 1,
			true), results[bad][2])
		t.eq(#players.by_fk("batch" .. bad), tasks - 1,
			"the other rows are there")
	end)
end

-- Many writers at once, some of whose writes break a constraint: on
-- PostgreSQL a batch's COMMIT goes before its statements are answered,
-- and the next batch begins behind it, so a failed batch must end there
-- and its other writes run again once, each: every incr answers the
-- count its task made.
t.case("writes keep flowing while batches with a broken constraint fail",
	function()
	local TASKS, ROUNDS = 20, 25
	local done, bad_wanted, bad_seen, wrong = 0, 0, 0, {}
	for i = 1, TASKS do
		counters.new({ id = "flow." .. i, n = 0 })
		wisp.fork(function()
			for round = 1, ROUNDS do
				local ok, v = pcall(counters.incr, "flow." .. i, "n", 1)
				if (not ok or v ~= round) and #wrong < 10 then
					wrong[#wrong + 1] = string.format("task %d round %d: %s",
						i, round, tostring(v))
				end
				if (i + round) % 9 == 0 then
					bad_wanted = bad_wanted + 1
					local ok, err = pcall(players.new,
						{ account = "flow", name = "Anna" })
					if not ok and err:find("UNIQUE constraint failed: "
						.. "player.name", 1, true) then
						bad_seen = bad_seen + 1
					elseif #wrong < 10 then
						wrong[#wrong + 1] = "the broken write: " .. tostring(err)
					end
				end
			end
			done = done + 1
		end)
	end
	t.wait_for("the writers", 30000, function() return done == TASKS end)
	t.eq(table.concat(wrong, "; "), "", "every write answered as made")
	t.eq(bad_seen, bad_wanted, "each broken write failed alone")
	for i = 1, TASKS do
		t.eq(counters.get("flow." .. i).n, ROUNDS, "counter " .. i)
	end
	t.eq(#players.by_fk("flow"), 0, "no broken write was written")
end)

t.case("static tables: read, not written, reloaded", function()
	local rows = db.static("item")
	t.eq(rows[1].name, "sword", "static row 1")
	t.eq(rows[2].price, 20, "static row 2")
	t.eq(items.get(1).name, "sword", "a static table reads by get")
	fails("table item is static (read-only)", items.update, 1, { price = 1 })
	fails("table item is static (read-only)", items.new,
		{ id = 9, name = "axe", price = 1 })
	fails("table item is static (read-only)", items.incr, 1, "price", 1)
	fails("table item is static (read-only)", items.delete, 1)
	fails("table player is not static", db.static, "player")
	fails("table player is not static", db.reload, "player")
	fails("unknown table 'nope'", db.static, "nope")
	fails("unknown table 'nope'", db.reload, "nope")
	t.eq(db.reload("item"), 2, "reload counts the rows")

	dbtest.ask_driver("CHANGE ITEM", "item.changed", 20000)
	t.eq(db.static("item")[1].price, 10, "unchanged until the reload")
	t.eq(db.reload("item"), 2, "reload after the change")
	t.eq(db.static("item")[1].price, 11, "the change after the reload")
end)

t.case("stats count the cache and the commits", function()
	local s = db.stats()
	t.eq(s.cache.kind, dbtest.cache_kind(), "the cache")
	t.ok(s.commits > 0 and s.rows >= s.commits, "commits and rows")
	players.get(ann) -- cached now, if it was not
	local hits = db.stats().cache.hits
	players.get(ann)
	t.eq(db.stats().cache.hits, hits + 1, "a get of a cached row is a hit")
end)

t.case("quotes, NULs and 1 MB round-trip", function()
	local rows = dbtest.payloads()
	for _, id in ipairs(dbtest.payload_ids) do
		local row = rows[id]
		dbtest.same_row(payloads.new(row), row, "new " .. id)
		dbtest.same_row(payloads.get(id), row, "get " .. id)
		dbtest.same_row(payloads.get(id), row, "get " .. id .. " again")
	end
	local all = payloads.get_many(dbtest.payload_ids)
	for _, id in ipairs(dbtest.payload_ids) do
		dbtest.same_row(all[id], rows[id], "get_many " .. id)
	end
	local note = rows.quotes.note .. "more"
	t.eq(payloads.update("noise", { note = note }), true, "update a big row")
	dbtest.same_row(payloads.get("noise"),
		{ body = rows.noise.body, note = note }, "get a big row after update")
	payloads.update("noise", { note = rows.noise.note })
end)

-- Any text is a key: the cache must not care what it holds.
t.case("text keys with blanks, control characters, 300 bytes", function()
	for _, id in ipairs({ "a key", "tab\tand\nnewline", string.rep("k", 300),
		"quote ' \" \0 nul" }) do
		local what = string.format("the key %q", id)
		t.eq(counters.new({ id = id, n = 1 }).id, id, what .. ": new")
		t.eq(counters.get(id).n, 1, what .. ": get")
		t.eq(counters.incr(id, "n", 2), 3, what .. ": incr")
		t.eq(counters.get(id).n, 3, what .. ": get after incr")
		t.eq(counters.get_many({ id })[id].n, 3, what .. ": get_many")
		t.eq(counters.delete(id), true, what .. ": delete")
		t.eq(counters.get(id), nil, what .. ": get after delete")
	end
end)


local scores = db.table("score", { pk = "id", auto = true })
local tags = db.table("tag", { pk = "id" })

-- rows' order as range promises it: by the column (desc or not), ties by
-- the key in the same direction, NULLs last
local function sorted(list, by, key, desc)
	local copy = table.move(list, 1, #list, 1, {})
	table.sort(copy, function(a, b)
		local x, y = a[by], b[by]
		if x == nil or y == nil then
			if x ~= nil or y ~= nil then
				return y == nil
			end
		elseif x ~= y then
			return desc and x > y or not desc and x < y
		end
		return desc and a[key] > b[key] or not desc and a[key] < b[key]
	end)
	return copy
end

-- Every page of tbl's range, walked with cursors; the keys in order.
local function walk(tbl, options)
	local keys, pages, after = {}, 0, nil
	repeat
		options.after = after
		local page = tbl:range(options)
		t.ok(#page.rows <= options.limit, "a page holds at most limit rows")
		for _, row in ipairs(page.rows) do
			keys[#keys + 1] = row.id
		end
		pages = pages + 1
		after = page.next
		t.ok(after == nil or #page.rows == options.limit,
			"a page before the last is full")
	until after == nil
	return keys, pages
end

local function keys_of(list)
	local keys = {}
	for i, row in ipairs(list) do
		keys[i] = row.id
	end
	return keys
end

t.case("range: pages in order, ties, NULLs, cursors, after updates", function()
	local rows = {}
	for i = 1, 23 do -- points 0..6 with ties, every fifth NULL
		local points = i % 5 ~= 0 and i % 7 or nil
		rows[i] = scores.new({ name = "p" .. i, points = points })
	end
	for _, desc in ipairs({ true, false }) do
		local want = keys_of(sorted(rows, "points", "id", desc))
		local got, pages = walk(scores, { by = "points", desc = desc, limit = 4 })
		t.eq(table.concat(got, ","), table.concat(want, ","),
			"every row once, in order, desc=" .. tostring(desc))
		t.eq(pages, 6, "23 rows in pages of 4")
	end
	local top = scores.range{ by = "points", desc = true, limit = 3 }
	t.eq(#top.rows, 3, "a top 3")
	-- an update moves a row: the next read orders it anew
	scores.update(rows[1].id, { points = 100 })
	rows[1].points = 100
	t.eq(scores:range{ by = "points", desc = true, limit = 1 }.rows[1].id,
		rows[1].id, "an updated row is at its new place")
	scores.update(rows[5].id, { points = -5 }) -- out of the NULLs
	rows[5].points = -5
	local last = scores:range{ by = "points", limit = 23 }
	t.eq(#last.rows, 23, "a page of every row")
	t.eq(last.next, nil, "no page after the last")
	t.eq(table.concat(keys_of(last.rows), ","),
		table.concat(keys_of(sorted(rows, "points", "id", false)), ","),
		"the whole order after updates")
	local by_key = walk(scores, { by = "id", desc = true, limit = 10 })
	t.eq(#by_key, 23, "range by the primary key")
	t.eq(by_key[1], rows[23].id, "the largest key first")
end)

t.case("range over a text key and REAL values", function()
	local list = {}
	for i, rank in ipairs({ 2.5, 1.0, 2.5, false, 0.5, 2.5, false }) do
		local row = { id = "t" .. i, rank = rank or nil }
		tags.new(row)
		list[i] = row
	end
	local want = keys_of(sorted(list, "rank", "id", false))
	local got = walk(tags, { by = "rank", limit = 2 })
	t.eq(table.concat(got, ","), table.concat(want, ","), "text keys, asc")
	want = keys_of(sorted(list, "rank", "id", true))
	got = walk(tags, { by = "rank", desc = true, limit = 3 })
	t.eq(table.concat(got, ","), table.concat(want, ","), "text keys, desc")
end)

t.case("range's mistakes are the caller's, named", function()
	fails("table score: range by name needs an index on it", scores.range,
		{ by = "name" })
	fails("table score has no column 'nope'", scores.range, { by = "nope" })
	fails("range's limit must be an integer from 1 to 1000", scores.range,
		{ by = "points", limit = 1001 })
	fails("range's limit must be an integer from 1 to 1000", scores.range,
		{ by = "points", limit = 0.5 })
	fails("range's after must be the next of an earlier page", scores.range,
		{ by = "points", after = { value = 3 } })
	fails("score.points wants an integer, got string", scores.range,
		{ by = "points", after = { key = 1, value = "x" } })
	fails("range takes a table of options, got string", scores.range, "points")
end)

t.run()
