-- bench_db.lua: the game node of the db benchmarks. WISP_BENCH names the
-- figure: db_get (cached rows read by 100 concurrent tasks), db_write
-- (durable updates by 100 concurrent tasks), with _memcached when the db
-- caches in memcached, or db_range (the top 10 of 100,000 scores, by 100
-- concurrent tasks); with _pg, on PostgreSQL; db_stall (the longest wait
-- for a cached get while 100 tasks write and every fsync of the db node
-- takes FSYNC_MS: the test's slow_fsync.so, turned on by writing the file
-- WISP_SLOW_FSYNC names once the rows are made). Best of three rounds;
-- any failure exits 1.
local wisp = require "wisp"
local db = require "wisp.db"
local bench = require "bench"

local TASKS, ROWS, ROUNDS = 100, 1000, 3
local ROUND_MS = 2000
local FSYNC_MS = 100
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

-- TASKS tasks each run op(i) until stop_at; returns a function that
-- waits until all have stopped and gives the count of ops done. The
-- caller's task is woken only once it waits, never inside a call of its
-- own.
local function run_tasks(op, stop_at)
	local done, running, waiting = 0, TASKS, nil
	for t = 1, TASKS do
		wisp.fork(function()
			local i = t
			while wisp.now() < stop_at do
				op(i % ROWS + 1)
				i = i + TASKS
				done = done + 1
			end
			running = running - 1
			if running == 0 and waiting then
				wisp.wakeup(waiting)
			end
		end)
	end
	return function()
		if running > 0 then
			waiting = coroutine.running()
			wisp.wait()
		end
		return done
	end
end

-- The rate of the ops TASKS tasks do in a round.
local function round(op)
	local started = wisp.now()
	local done = run_tasks(op, started + ROUND_MS)()
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

-- The longest a cached get waited, or between two gets, while TASKS
-- tasks write.
local function stall_round(write)
	local stop_at = wisp.now() + ROUND_MS
	local writers = run_tasks(write, stop_at)
	local longest, last = 0, wisp.now()
	while wisp.now() < stop_at do
		ops.get(ROWS)
		local now = wisp.now()
		longest, last = math.max(longest, now - last), now
	end
	writers()
	return longest
end

local function stall()
	local flag = assert(os.getenv("WISP_SLOW_FSYNC"), "set WISP_SLOW_FSYNC")
	local f = assert(io.open(flag, "w"))
	f:write(FSYNC_MS)
	f:close()
	-- the writers leave alone the row the gets read (ROWS), which one of
	-- them would otherwise update now and then: each update makes the
	-- cached copy stale, and the next get then reads the database, whose
	-- connection waits out the slowed fsync of the commit under way
	local function write_others(pk)
		ops.write(pk == ROWS and 1 or pk)
	end
	local best = math.huge
	for _ = 1, ROUNDS do
		best = math.min(best, stall_round(write_others))
	end
	os.remove(flag)
	bench.report(name, best, "ms")
	wisp.log("db_stall: every fsync slowed by " .. FSYNC_MS .. " ms")
end

local function run()
	setup()
	if name == "db_stall" then
		return stall()
	end
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
