-- writes.lua: a write load from many tasks, each writing journal rows with
-- keys of its own in order, until its first failure. After WRITES_MARK
-- acknowledged writes it logs "WRITING <phase>", and the driver takes the
-- db node down (phase "kill": kill -9; "term": SIGTERM; "pgkill": kill -9
-- of PostgreSQL under it, which the driver starts again). Every write
-- then fails with an error, none hangs; the script logs "WRITES STOPPED
-- <phase> acked=N", the driver starts the db node again, and every
-- acknowledged row must be there.
local wisp = require "wisp"
local db = require "wisp.db"
local t = require "testing"
local dbtest = require "dbtest"

local phase = ...
local TASKS = 20
local WRITES_MARK = 300 -- acknowledged writes before the driver's move
local MAX_SEQ = 99999 -- a task's keys: base + task * 100000 + seq
local base = ({ kill = 100000000, term = 200000000,
	pgkill = 300000000 })[phase]
	or error("writes.lua wants the phase kill, term or pgkill")

local journal = db.table("journal", { pk = "id" })
local acked, failures = {}, {}

local function key(task, seq)
	return base + task * 100000 + seq
end

local function body(id)
	return phase .. " row " .. id
end

local total = 0
local function write_until_failure(task)
	for seq = 1, MAX_SEQ do
		local id = key(task, seq)
		local ok, row = pcall(journal.new, { id = id, task = task, seq = seq,
			body = body(id) })
		if not ok then
			failures[task] = tostring(row)
			return
		end
		if row.id ~= id then
			failures[task] = "new answered the row " .. tostring(row.id)
			return
		end
		acked[task] = seq
		total = total + 1
		if total == WRITES_MARK then
			wisp.log("WRITING " .. phase)
		end
	end
	failures[task] = "never failed"
end

local function stopped()
	for task = 1, TASKS do
		if not failures[task] then
			return false
		end
	end
	return true
end

t.case("the db node answers", function()
	dbtest.wait_db(20000)
end)

t.case("writes while the db node goes down fail, none hangs", function()
	for task = 1, TASKS do
		acked[task] = 0
		wisp.fork(write_until_failure, task)
	end
	t.wait_for("every writer to fail", 60000, stopped)
	local kinds = {}
	for task = 1, TASKS do
		t.ok(failures[task] ~= "never failed", "task " .. task .. " failed")
		kinds[failures[task]:gsub("^.-: ", "")] = true
	end
	for text in pairs(kinds) do
		wisp.log("a write failed with: " .. text)
	end
	-- the driver starts the db node again only after the marker below
	local ok, err = pcall(journal.new, { id = base, task = 0, seq = 0,
		body = "written while the db node is down" })
	t.eq(ok, false, "a write while the db node is down")
	wisp.log("a write while the db node is down failed with: " .. err)
	wisp.log("WRITES STOPPED " .. phase .. " acked=" .. total)
end)

t.case("every acknowledged write is there after the restart", function()
	dbtest.wait_db(30000)
	for task = 1, TASKS do
		local ids = {}
		for seq = 1, acked[task] do
			ids[seq] = key(task, seq)
		end
		local rows = journal.get_many(ids)
		for seq, id in ipairs(ids) do
			local row = rows[id]
			t.ok(row, "the acknowledged row " .. id .. " is there")
			t.eq(row.body, body(id), "row " .. id)
			t.eq(row.seq, seq, "row " .. id .. ": seq")
		end
	end
end)

t.run()
