-- mcload.lua: reads and writes from many tasks while the driver kills
-- memcached (kill -9) and starts it again. Each task owns its rows, so it
-- knows what each must hold: every call must succeed and every read must
-- see the last write. The script logs "LOAD RUNNING" for the driver,
-- which answers once the db node has logged that memcached is back; the
-- load then goes on for a while, and the rows are checked at the end (and
-- by the driver in the file: their n add up to the incr answered).
local wisp = require "wisp"
local db = require "wisp.db"
local t = require "testing"
local dbtest = require "dbtest"

local TASKS, ROWS = 20, 5
local OPS_BEFORE = 500 -- calls before the driver's move
local OPS_AFTER = 2000 -- calls after memcached is back

local counters = db.table("counter", { pk = "id" })
local expect = {} -- [id] = { n =, note = }
local calls, incrs, errors, running = 0, 0, {}, 0
local stop = false

local function row_id(task, k)
	return "load:" .. task .. ":" .. k
end

local function check(row, id, what)
	local want = expect[id]
	if type(row) ~= "table" or row.n ~= want.n or row.note ~= want.note then
		errors[#errors + 1] = string.format("%s of %s: got n=%s note=%s, "
			.. "want n=%d note=%s", what, id, tostring(row and row.n),
			tostring(row and row.note), want.n, want.note)
	end
end

local function one_call(task, i)
	local id = row_id(task, i % ROWS + 1)
	local op = i % 4
	local ok, r
	if op == 0 then
		ok, r = pcall(counters.incr, id, "n", 1)
		if ok then
			incrs = incrs + 1
			expect[id].n = expect[id].n + 1
			check({ n = r, note = expect[id].note }, id, "incr")
		end
	elseif op == 1 then
		local note = task .. ":" .. i
		ok, r = pcall(counters.update, id, { note = note })
		if ok then
			expect[id].note = note
		end
	elseif op == 2 then
		ok, r = pcall(counters.get, id)
		if ok then
			check(r, id, "get")
		end
	else
		local ids = {}
		for k = 1, ROWS do
			ids[k] = row_id(task, k)
		end
		ok, r = pcall(counters.get_many, ids)
		for k = 1, ok and ROWS or 0 do
			check(r[ids[k]], ids[k], "get_many")
		end
	end
	if not ok then
		errors[#errors + 1] = tostring(r)
	end
	calls = calls + 1
end

local function load(task)
	running = running + 1
	for k = 1, ROWS do
		local id = row_id(task, k)
		expect[id] = { n = 0, note = "new" }
		counters.new({ id = id, n = 0, note = "new" })
	end
	local i = 0
	while not stop do
		i = i + 1
		one_call(task, i)
	end
	running = running - 1
end

t.case("the db node answers", function()
	dbtest.wait_db(20000)
end)

t.case("memcached killed and restarted under load: no error, no loss",
	function()
		for task = 1, TASKS do
			wisp.fork(load, task)
		end
		t.wait_for("the load to start", 30000, function()
			return calls >= OPS_BEFORE
		end)
		dbtest.ask_driver("LOAD RUNNING", "memcached.back", 60000)
		local back = calls
		t.wait_for("more calls after memcached came back", 60000, function()
			return calls >= back + OPS_AFTER
		end)
		stop = true
		t.wait_for("the tasks to end", 20000, function()
			return running == 0
		end)
		wisp.log(calls .. " calls, " .. #errors .. " errors; LOAD DONE incrs="
			.. incrs)
		t.eq(#errors, 0, "errors: " .. tostring(errors[1]))
		for task = 1, TASKS do
			for k = 1, ROWS do
				local id = row_id(task, k)
				check(counters.get(id), id, "the final get")
			end
		end
		t.eq(#errors, 0, "the final values: " .. tostring(errors[1]))
		local s = db.stats().cache
		t.eq(s.up, true, "memcached is in use again")
		t.ok(s.hits > 0, "rows were read from memcached")
	end)

t.run()
