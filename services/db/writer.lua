-- db/writer.lua: group commit. The first write of a batch opens a
-- transaction; each write runs its statement in it at once (so a broken
-- constraint fails that write alone, in order, and incr sees the writes
-- before it) and waits; the batch commits when the messages already
-- queued are served (wisp.when_idle), when it holds batch_max writes, or
-- after MAX_WAIT_MS while the service never runs out of messages.
-- Only then is each write answered: an acknowledged write is committed.
-- A commit that fails rolls back and fails every write of the batch.
local wisp = require "wisp"

local writer = {}
writer.__index = writer

local MAX_WAIT_MS = 5

-- on_commit(touched) runs after a commit with { [table] = { [pk] = row or
-- false } }: the rows as committed, or false for a row whose cached copy
-- is now stale (updated or deleted). on_abort(touched) after a rollback.
function writer.new(conn, batch_max, on_commit, on_abort)
	return setmetatable({ conn = conn, batch_max = batch_max,
		on_commit = on_commit, on_abort = on_abort, batch = nil,
		commits = 0, rows = 0, commit_us = 0 }, writer)
end

function writer:open()
	local b = self.batch
	if b then
		return b
	end
	self.conn:exec("BEGIN")
	b = { n = 0, answers = {}, results = {}, touched = {} }
	self.batch = b
	local function commit_this()
		if self.batch == b then
			self:commit()
		end
	end
	wisp.when_idle(commit_this)
	wisp.timeout(MAX_WAIT_MS, commit_this)
	return b
end

-- Whether the row (t, pk) was written in the open batch: its value is not
-- committed yet, so it must not be cached.
function writer:pending(t, pk)
	local b = self.batch
	local rows = b and b.touched[t]
	return rows ~= nil and rows[pk] ~= nil
end

function writer:touch(t, pk, row)
	local b = self:open()
	local rows = b.touched[t]
	if not rows then
		rows = {}
		b.touched[t] = rows
	end
	rows[pk] = row or false
end

-- Runs fn(...) inside the batch's transaction; its result is the answer,
-- sent once the batch is committed. An error of fn fails this write only.
function writer:write(fn, ...)
	local b = self:open()
	local result = fn(...)
	local n = b.n + 1
	b.n = n
	b.answers[n] = wisp.response()
	b.results[n] = result
	if n >= self.batch_max then
		self:commit()
	end
end

local function answer_all(b, ok, err)
	local answers, results = b.answers, b.results
	for i = 1, b.n do
		if ok then
			answers[i](true, results[i])
		else
			answers[i](false, err)
		end
	end
end

function writer:commit()
	local b = self.batch
	if not b then
		return
	end
	self.batch = nil
	local started = wisp.now()
	local ok, err = pcall(self.conn.exec, self.conn, "COMMIT")
	if not ok then
		pcall(self.conn.exec, self.conn, "ROLLBACK")
		wisp.log_error("commit of " .. b.n .. " writes failed: " .. err)
		self.on_abort(b.touched)
		answer_all(b, false, "db: the commit failed: " .. err)
		return
	end
	self.commits = self.commits + 1
	self.rows = self.rows + b.n
	self.commit_us = self.commit_us + (wisp.now() - started) * 1000
	-- committed is committed: a failing cache update must not keep the
	-- writes from being answered (on_commit copes with its own failure)
	local cached, why = pcall(self.on_commit, b.touched)
	if not cached then
		wisp.log_error("cache update after a commit failed: " .. tostring(why))
	end
	answer_all(b, true)
end

return writer
