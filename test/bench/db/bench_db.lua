-- bench_db.lua: the game node of the db benchmarks. WISP_BENCH names the
-- figure: db_get (cached rows read by 100 concurrent tasks), db_write
-- (durable updates by 100 concurrent tasks), with _memcached when the db
-- caches in memcached, or db_range (the top 10 of 100,000 scores, by 100
-- concurrent tasks); with _pg, on PostgreSQL. Best of three rounds; any
-- failure exits 1.
local wisp = require "wisp"
local db = require "wisp.db"
local bench = require "bench"

local TASKS, ROWS, ROUNDS = 100, 1000, 3
local ROUND_MS = 2000
local name = assert(os.getenv("WISP_BENCH"), "set WISP_BENCH")
local players = db.table("player", { pk = "id", auto = true })
local scores = db.table("score", { pk = "id" })

local function setup()
	for i = 1, ROWS do
		local row = players.get(i) or players.new({ id = i, name = "p" .. i })
		assert(row.id == i)
	end
	for i = 1, ROWS do -- warm the cache
		players.get(i)
	end
end

-- TASKS tasks each run op(i) until the round's time is up; the rate of
-- the ops done.
local function round(op)
	local done, running = 0, TASKS
	local me = coroutine.running()
	local started = wisp.now()
	local stop_at = started + ROUND_MS
	for t = 1, TASKS do
		wisp.fork(function()
			local i = t
			while wisp.now() < stop_at do
				op(i % ROWS + 1)
				i = i + TASKS
				done = done + 1
			end
			running = running - 1
			if running == 0 then
				wisp.wakeup(me)
			end
		end)
	end
	wisp.wait()
	return bench.per_second(done, started)
end

local ops = {
	get = function(pk)
		if players.get(pk).id ~= pk then
			error("get " .. pk .. " returned another row")
		end
	end,
	write = function(pk)
		players.update(pk, { level = pk, gold = wisp.now() })
	end,
	range = function()
		local rows = scores:range{ by = "points", desc = true, limit = 10 }.rows
		if #rows ~= 10 or rows[1].points < rows[10].points then
			error("range returned " .. #rows .. " rows, or out of order")
		end
	end,
}

local function run()
	setup()
	local op = assert(ops[name:match("^db_(%a+)")], "unknown benchmark " .. name)
	local unit = name:find("get") and "gets/s"
		or name:find("range") and "queries/s" or "rows/s"
	bench.report(name, bench.best(ROUNDS, round, op), unit)
	local stats = db.stats()
	wisp.log(string.format("db stats: cache %s hits %d misses %d; commits %d "
		.. "rows %d (%.1f rows per commit)", stats.cache.kind, stats.cache.hits,
		stats.cache.misses, stats.commits, stats.rows,
		stats.rows / math.max(stats.commits, 1)))
end

wisp.start(function()
	wisp.fork(function()
		local ok, err = xpcall(run, debug.traceback)
		if not ok then
			wisp.log_error(name .. " failed: " .. tostring(err))
		end
		wisp.shutdown(ok and 0 or 1)
	end)
end)
