-- incr.lua: run by game1 and game2 at once, each from its own process:
-- 50 tasks doing 200 incr each on one row. Both log "INCR READY" and
-- start when the driver answers, so that their loads overlap. Each incr
-- answers the value it made: every answer is new. With the argument
-- "check", the row is read instead and must hold exactly 20,000.
local wisp = require "wisp"
local db = require "wisp.db"
local t = require "testing"
local dbtest = require "dbtest"

local mode = ...
local TASKS, EACH = 50, 200
local NODES = 2

local counters = db.table("counter", { pk = "id" })

local function create_row()
	-- both nodes try: one creates the row, the other finds it there
	local ok, err = pcall(counters.new, { id = "shared", n = 0 })
	if not ok then
		t.ok(err:find("UNIQUE constraint failed: counter.id", 1, true), err)
	end
end

local function run_load()
	local answers, errors, done = {}, {}, 0
	for _ = 1, TASKS do
		wisp.fork(function()
			for _ = 1, EACH do
				local ok, v = pcall(counters.incr, "shared", "n", 1)
				if ok then
					answers[#answers + 1] = v
				else
					errors[#errors + 1] = v
				end
			end
			done = done + 1
		end)
	end
	t.wait_for("the incr tasks", 60000, function()
		return done == TASKS
	end)
	return answers, errors
end

t.case("the db node answers", function()
	dbtest.wait_db(20000)
end)

if mode == "check" then
	t.case("the row holds every incr of both nodes", function()
		t.eq(counters.get("shared").n, TASKS * EACH * NODES, "the counter")
	end)
else
	t.case("50 tasks doing 200 incr each, with another node", function()
		create_row()
		dbtest.ask_driver("INCR READY", "incr.go", 30000)
		local answers, errors = run_load()
		t.eq(#errors, 0, "failed incr: " .. tostring(errors[1]))
		t.eq(#answers, TASKS * EACH, "answers")
		local seen = {}
		for _, v in ipairs(answers) do
			t.ok(math.type(v) == "integer" and v >= 1
				and v <= TASKS * EACH * NODES, "an answer in range: " .. v)
			t.ok(not seen[v], "the value " .. v .. " answered twice")
			seen[v] = true
		end
	end)
end

t.run()
