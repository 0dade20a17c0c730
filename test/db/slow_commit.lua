-- slow_commit.lua: the game node of test_slow_commit.py. Once the test
-- has slowed the db node's fsync by a second, writes run while cached gets
-- go on: with synchronous full (WISP_DB_SYNC), three updates whose every
-- commit fsyncs; with normal, rows of 4 KB until the WAL is checkpointed
-- (which fsyncs both files). The gets must keep being answered during the
-- slowest write, and the writes must still be acknowledged and read back.
-- With WISP_SLOW_MEMCACHED, the test has stopped the cache's memcached
-- instead (SIGSTOP): each call to it is bounded by its timeout, then it
-- is skipped, so gets and writes go on for the 3 s of the case.
local wisp = require "wisp"
local db = require "wisp.db"
local t = require "testing"

local MODE = os.getenv("WISP_SLOW_MEMCACHED") and "memcached"
	or os.getenv("WISP_DB_SYNC") or "full"
local players = db.table("player", { pk = "id", fk = "account", auto = true })
local payloads = db.table("payload", { pk = "id" })
local SLOW_MS = 800 -- a write at least this slow shows the disk is slowed
local TASKS, ROWS_MAX = 20, 4000

local function setup()
	for id = 1, 2 do
		if not players.get(id) then
			players.new({ id = id, account = "slow", name = "p" .. id })
		end
		players.get(id) -- cached from here on
	end
	wisp.log("slow commit: ready") -- the test slows the disk now
	while not io.open(os.getenv("WISP_SLOW_FSYNC") or "", "r") do
		wisp.sleep(50)
	end
end

-- Runs write(), timed, keeping the slowest's window in slow.
local function timed(slow, write, ...)
	local started = wisp.now()
	write(...)
	local ended = wisp.now()
	if ended - started > slow.ended - slow.started then
		slow.started, slow.ended = started, ended
	end
end

local function commits(slow)
	for i = 1, 3 do
		timed(slow, players.update, 1, { gold = i })
	end
	t.eq(players.get(1).gold, 3, "the last write is read back")
end

-- TASKS tasks write rows until a checkpoint has run.
local function checkpoint(slow)
	local before, made, running = db.stats().checkpoints, 0, TASKS
	local me = coroutine.running()
	local body = string.rep("x", 4000)
	for _ = 1, TASKS do
		wisp.fork(function()
			while db.stats().checkpoints == before and made < ROWS_MAX do
				made = made + 1
				timed(slow, payloads.new, { id = "row" .. made, body = body })
			end
			running = running - 1
			if running == 0 then
				wisp.wakeup(me)
			end
		end)
	end
	wisp.wait()
	t.ok(db.stats().checkpoints > before, "a checkpoint ran, after "
		.. made .. " rows")
	t.eq(payloads.get("row" .. made).body, body, "the last row is read back")
end

-- Writes for HANG_MS while memcached does not answer.
local HANG_MS = 3000
local function memcached_hang(slow)
	local stop_at, i = wisp.now() + HANG_MS, 0
	while wisp.now() < stop_at do
		i = i + 1
		timed(slow, players.update, 1, { gold = i })
	end
	t.eq(players.get(1).gold, i, "the last write is read back")
	t.eq(db.stats().cache.kind, "memcached", "the cache is memcached")
end

local SLOWED = { full = "commits are slow", normal = "a checkpoint is slow",
	memcached = "memcached hangs" }

t.case("gets are answered while " .. SLOWED[MODE], function()
	setup()
	local answered, writing = {}, true
	wisp.fork(function()
		while writing do
			t.eq(players.get(2).name, "p2", "a cached get")
			answered[#answered + 1] = wisp.now()
			wisp.sleep(5)
		end
	end)
	wisp.log("slow commit: writes started")
	local slow = { started = 0, ended = 0 }
	local started = wisp.now()
	if MODE == "full" then
		commits(slow)
	elseif MODE == "normal" then
		checkpoint(slow)
	else
		memcached_hang(slow)
		slow.started, slow.ended = started, wisp.now()
	end
	writing = false
	local during = 0
	for _, at in ipairs(answered) do
		if at > slow.started and at < slow.ended then
			during = during + 1
		end
	end
	local ms = slow.ended - slow.started
	wisp.log(string.format("slow commit: writes done; the slowest took %d ms,"
		.. " %d gets answered meanwhile", ms, during))
	t.ok(MODE == "memcached" or ms >= SLOW_MS, "the disk was slowed (a "
		.. "write took " .. ms .. " ms)")
	t.ok(during >= 20, "gets were answered during it (" .. during .. ")")
end)

t.run()
