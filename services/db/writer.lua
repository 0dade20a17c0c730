-- db/writer.lua: group commit. The first write of a batch opens a
-- transaction; each write runs its statement in it at once (so a broken
-- constraint fails that write alone, in order, and incr sees the writes
-- before it) and waits; the batch commits when the messages already
-- queued are served (wisp.when_idle), when it holds batch_max writes, or
-- after MAX_WAIT_MS while the service never runs out of messages.
-- Only then is each write answered: an acknowledged write is committed.
-- A commit that fails rolls back and fails every write of the batch.
-- On PostgreSQL a write's statement suspends its task until its answer
-- comes. When each write still running waits for its last statement
-- (writer:final_statement, as every write of store.lua does), the COMMIT
-- goes at once, behind those statements (finish_early); otherwise it
-- waits for them. A write that comes meanwhile waits for the next batch,
-- which begins as soon as that COMMIT is sent (a pipelined connection
-- keeps them in order); the rows of a batch being committed are pending
-- too. On sqlite the COMMIT may run on the connection's worker thread
-- (commit, below): meanwhile the connection is not to be touched, so
-- writes wait for the next batch and reads for the commit's end
-- (writer:idle).
local wisp = require "wisp"

local writer = {}
writer.__index = writer

local MAX_WAIT_MS = 5

-- on_commit(touched) runs after a commit with { [table] = { [pk] = row or
-- false } }: the rows as committed, or false for a row whose cached copy
-- is now stale (updated or deleted). on_abort(touched) after a rollback.
-- hooks.commit(conn) commits, raising on failure (default:
-- conn:exec("COMMIT")); hooks.checkpoint(conn), if given, runs after each
-- commit is answered, holding the connection as a commit does, and
-- returns whether it checkpointed.
function writer.new(conn, batch_max, on_commit, on_abort, hooks)
	hooks = hooks or {}
	return setmetatable({ conn = conn, batch_max = batch_max,
		on_commit = on_commit, on_abort = on_abort, batch = nil,
		next_batch = {}, committing = {}, in_final = {},
		-- the batch of each write running, by task; on PostgreSQL the
		-- connection's too (a failed statement of a write is run again)
		writing = conn.writing or {},
		commits = 0, rows = 0, commit_us = 0, checkpoints = 0,
		syncing = false,
		run_commit = hooks.commit or function(c) c:exec("COMMIT") end,
		run_checkpoint = hooks.checkpoint }, writer)
end

function writer:wait_next()
	self.next_batch[#self.next_batch + 1] = coroutine.running()
	wisp.wait()
end

-- Waits while a COMMIT holds the connection: a read must not touch it.
function writer:idle()
	while self.syncing do
		self:wait_next()
	end
end

-- Commits what is open and waits until every batch is committed (or has
-- failed): the service is stopping.
function writer:drain()
	self:commit() -- may finish at once, its waiters woken before we wait
	while self.batch or self.syncing or next(self.committing) do
		self:wait_next()
		self:commit()
	end
end

-- The open batch, counting one more write running in it; a task waits
-- here while one is being committed. The batch counts its opener's write
-- while BEGIN runs, so that it is not committed meanwhile.
function writer:open()
	local b = self.batch
	while (b and b.closing) or self.syncing do
		self:wait_next()
		b = self.batch
	end
	if b then
		b.running = b.running + 1
		return b
	end
	b = { n = 0, running = 1, in_final = 0, answers = {}, results = {},
		calls = {}, touched = {} }
	self.batch = b
	local ok, err = pcall(self.conn.exec, self.conn, "BEGIN",
		self.conn.pipelined)
	if not ok then
		self.batch = nil
		self:wake_next()
		error(err, 0)
	end
	local function commit_this()
		if self.batch == b then
			self:commit()
		end
	end
	wisp.when_idle(commit_this)
	wisp.timeout(MAX_WAIT_MS, commit_this)
	return b
end

local function touched(b, t, pk)
	local rows = b.touched[t]
	return rows ~= nil and rows[pk] ~= nil
end

-- Whether the row (t, pk) was written in the open batch or one being
-- committed: its value is not committed yet, so it must not be cached.
function writer:pending(t, pk)
	if self.batch and touched(self.batch, t, pk) then
		return true
	end
	for b in pairs(self.committing) do
		if touched(b, t, pk) then
			return true
		end
	end
	return false
end

-- The calling write wrote the row (t, pk): row is its value, or nil
-- when the row's cached copy is only stale.
function writer:touch(t, pk, row)
	local b = self.writing[coroutine.running()]
	local rows = b.touched[t]
	if not rows then
		rows = {}
		b.touched[t] = rows
	end
	rows[pk] = row or false
end

-- Runs call.fn(call...) in the open batch; answer (wisp.response() of
-- the request) gets its result once the batch is committed. A batch whose
-- transaction failed (on PostgreSQL a statement's failure fails it all:
-- conn.tx_failed) is rolled back and its other writes run again in the
-- next batch, so that a broken constraint fails its own write alone.
function writer:run(call, answer)
	local conn = self.conn
	while true do
		local b = self:open()
		local task = coroutine.running()
		self.writing[task] = b
		local ok, result = pcall(call.fn, table.unpack(call, 1, call.n))
		self.writing[task] = nil
		if self.in_final[task] then
			self.in_final[task] = nil
			b.in_final = b.in_final - 1
		end
		if ok then -- answered with the batch, before its commit is made
			local n = b.n + 1
			b.n = n
			b.answers[n] = answer or wisp.response()
			b.results[n] = result
			b.calls[n] = call
		elseif conn.tx_failed then
			b.doomed = true
		end
		b.running = b.running - 1
		if not b.closing and (b.doomed or b.n >= self.batch_max) then
			self:commit()
		elseif b.closing and b.running == 0 then
			self:all_returned(b)
		end
		if ok then
			return
		elseif result ~= conn.RETRY then
			error(result, 0)
		end
	end
end

-- Runs fn(...) inside the batch's transaction; its result is the answer,
-- sent once the batch is committed. An error of fn fails this write only.
function writer:write(fn, ...)
	self:run({ fn = fn, n = select("#", ...), ... })
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

function writer:wake_next()
	local waiting = self.next_batch
	self.next_batch = {}
	for _, task in ipairs(waiting) do
		wisp.wakeup(task)
	end
end

-- The calling write's next statement is its last: once it is sent, the
-- batch's COMMIT may go behind it before its answer comes (finish_early).
-- Called before the statement, which is sent before the task waits.
function writer:final_statement()
	local task = coroutine.running()
	local b = self.writing[task]
	if b and self.conn.pipelined and not self.in_final[task] then
		self.in_final[task] = true
		b.in_final = b.in_final + 1
	end
end

-- Commits the open batch once none of its writes is running, or at once
-- if each of those running waits for its last statement's answer.
function writer:commit()
	local b = self.batch
	if not b or b.closing then
		return
	end
	b.closing = true
	if b.running == 0 then
		self:finish(b)
	elseif b.running == b.in_final and not b.doomed
		and not self.conn.tx_failed then
		self:finish_early(b)
	end
end

-- Every write of a closing batch has returned.
function writer:all_returned(b)
	if not b.early then
		self:finish(b)
	elseif b.closer then
		wisp.wakeup(b.closer)
	end
end

-- A failed transaction's writes run again, each in a task of its own;
-- rolled_back: the transaction is over already.
function writer:replay(b, rolled_back)
	if not rolled_back then
		pcall(self.conn.exec, self.conn, "ROLLBACK")
	end
	self.committing[b] = nil
	self:wake_next()
	self.on_abort(b.touched)
	for i = 1, b.n do
		local call, answer = b.calls[i], b.answers[i]
		wisp.fork(function()
			local ok, err = pcall(self.run, self, call, answer)
			if not ok then
				answer(false, err)
			end
		end)
	end
end

-- A COMMIT that fails on PostgreSQL has ended the transaction: no
-- ROLLBACK, which would end the next batch's.
function writer:finish(b)
	local started = wisp.now()
	self.batch = nil
	self.committing[b] = true
	if self.conn.pipelined then
		self:wake_next()
	end
	if b.doomed or self.conn.tx_failed then
		self:replay(b)
		return
	end
	self.syncing = not self.conn.pipelined
	local ok, err = pcall(self.run_commit, self.conn)
	self.syncing = false
	self.committing[b] = nil
	if not ok then
		if not self.conn.pipelined then
			pcall(self.conn.exec, self.conn, "ROLLBACK")
		end
		self:wake_next()
		self:failed(b, err)
		return
	end
	self:wake_next()
	self:committed(b, started)
end

-- Commits b while its writes wait for their last statement's answer, so
-- that PostgreSQL need not wait for the node between them
-- (conn:commit_early), then waits for those writes to return. If a
-- statement failed, nothing was committed: the writes that did not fail
-- run again.
function writer:finish_early(b)
	local started = wisp.now()
	self.batch = nil
	self.committing[b] = true
	b.early = true
	self:wake_next() -- the next batch begins behind the COMMIT
	local ok, err, none_committed = self.conn:commit_early()
	while b.running > 0 do
		b.closer = coroutine.running()
		wisp.wait()
	end
	self.committing[b] = nil
	self:wake_next()
	if ok then
		self:committed(b, started)
	elseif none_committed then
		self:replay(b, true)
	else
		self:failed(b, err)
	end
end

function writer:failed(b, err)
	wisp.log_error("commit of " .. b.n .. " writes failed: " .. err)
	self.on_abort(b.touched)
	answer_all(b, false, "db: the commit failed: " .. err)
end

function writer:committed(b, started)
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
	self:checkpoint()
end

-- A checkpoint if one is due, once the batch is answered; the writes
-- woken for the next batch wait for it.
function writer:checkpoint()
	if not self.run_checkpoint or self.batch then
		return
	end
	self.syncing = true
	local ok, ran = pcall(self.run_checkpoint, self.conn)
	self.syncing = false
	self:wake_next()
	if not ok then
		wisp.log_error("checkpoint failed: " .. tostring(ran))
	elseif ran then
		self.checkpoints = self.checkpoints + 1
	end
end

return writer
