-- db/pg.lua: a PostgreSQL connection for the db service, over wisp.pq
-- (asynchronous libpq, pipeline mode), with the interface the service
-- uses on sqlite: conn:exec(sql), conn:prepare(sql) and a statement's
-- first, rows and run, each suspending only the calling task until its
-- answer comes. Outside a transaction every query is a unit of the
-- pipeline ending in a sync, so one failure aborts nothing of another's.
-- Inside one (between BEGIN and COMMIT or ROLLBACK, the writer's batch)
-- a unit ends in a flush request only, so the batch's statements go
-- together: one that fails fails the transaction (conn.tx_failed), and
-- those after it answer pg.RETRY; the writer rolls the batch back and
-- runs its other writes again in the next one, as sqlite keeps them. The
-- connection reconnects with backoff; while it is down every call fails
-- with "db: postgres unavailable: ...". The writer may send a COMMIT
-- before the answers of the transaction's statements come
-- (conn:commit_early), and begin a transaction while the COMMIT of the
-- one before is on its way (conn.pipelined): the pipeline keeps them in
-- order.
local wisp = require "wisp"
local pq = require "wisp.pq"

local pg = {}

local conn = {}
conn.__index = conn
local stmt = {}
stmt.__index = stmt

local BACKOFF_MIN_MS, BACKOFF_MAX_MS = 100, 5000
local CONNECT_WAIT_MS = 10000 -- how long open waits for the first connect
local IN_FAILED_TX = "25P02"
-- What a statement of a failed transaction raises in a writer's task.
pg.RETRY = setmetatable({}, { __tostring = function()
	return "db: the transaction failed: run again"
end })

local conns = {} -- by the id of their wisp.pq connection

local function unavailable(why)
	local text = tostring(why):gsub("%s+$", ""):gsub("%s+", " ")
	return "db: postgres unavailable: " .. text
end

-- Items of the pipeline, in the order sent: the unit each belongs to and
-- its role in it ("prepare"; "main", the statement whose result is the
-- answer; "sync", the unit's end), in two arrays (no table per item).
local function push_item(self, unit, role)
	local q = self.items
	local last = q.last + 1
	q.last = last
	q.units[last], q.roles[last] = unit, role
end

local function pop_item(self)
	local q = self.items
	local first = q.first
	if first > q.last then
		return nil
	end
	local unit, role = q.units[first], q.roles[first]
	q.units[first], q.roles[first] = nil, nil
	q.first = first + 1
	return unit, role
end

local function check_sent(ok, err)
	if not ok then
		error(unavailable(err), 0)
	end
end

-- Sends unit's statements: [prepare,] the statement (unit.sql or
-- unit.stmt, its unit.n arguments in unit[1..n]), and a sync, or in a
-- transaction a flush request.
local function send_unit(self, unit)
	local raw = self.raw
	unit.error, unit.result = nil, nil
	if unit.script then
		check_sent(raw:script(unit.sql))
		push_item(self, unit, "main")
		push_item(self, unit, "sync") -- taken with main: no sync is sent
		return
	end
	local s = unit.stmt
	if s and not s.prepared then
		check_sent(raw:prepare(s.name, s.sql))
		push_item(self, unit, "prepare")
		s.prepared = true
	end
	if s then
		check_sent(raw:send_prepared(s.name, unit.n,
			table.unpack(unit, 1, unit.n)))
	elseif unit.sql then
		check_sent(raw:send(unit.sql, unit.n,
			table.unpack(unit, 1, unit.n)))
	end
	if unit.sql or s then
		push_item(self, unit, "main")
	end
	if unit.in_tx then
		check_sent(raw:flush_request())
	else
		check_sent(raw:sync())
		push_item(self, unit, "sync")
	end
end

local broken -- below

-- The transaction failed: what was sent after the failure is aborted up
-- to a sync, and the ROLLBACK must come after one.
local function tx_failed(self)
	if self.tx_failed then
		return
	end
	self.tx_failed = true
	local ok, why = pcall(send_unit, self, {})
	if not ok then
		broken(self, why)
	end
end

local function finish(self, unit)
	local err = unit.error
	if err and unit.in_tx then
		err.retry = err.state == "aborted" or err.state == IN_FAILED_TX
		-- a read's answer may come after its transaction's ROLLBACK
		if self.in_tx and unit.tx == self.tx then
			tx_failed(self)
		end
	end
	if unit.task then
		unit.done = true
		wisp.wakeup(unit.task)
	elseif err and not err.retry then
		wisp.log_error("postgres: " .. err.error)
	end
end

local function take(self, unit, role, result)
	if role == "sync" then
		finish(self, unit)
	elseif type(result) == "table" and result.error then
		-- the first error of a unit is its cause
		if not unit.error or unit.error.state == "aborted" then
			unit.error = result
		end
		if role == "prepare" then
			unit.stmt.prepared = false -- to be prepared again
		end
	elseif role == "main" then
		unit.result = result
	end
	if role == "main" and unit.in_tx then
		finish(self, unit)
	end
	if unit.script and role == "main" then
		take(self, pop_item(self)) -- the sync it has not
	end
end

local reconnect -- below

-- The failed transaction, if any, is over: the reads that waited for it
-- go on.
local function tx_over(self)
	self.tx_failed = false
	local waiting = self.tx_waiters
	self.tx_waiters = {}
	for _, task in ipairs(waiting) do
		wisp.wakeup(task)
	end
end

-- Everything in flight fails: the connection is gone.
function broken(self, why)
	self.down = unavailable(why)
	self.raw:close()
	while true do
		local unit = pop_item(self)
		if not unit then
			break
		end
		if unit.task and not unit.done then
			unit.done, unit.error = true, { error = self.down, down = true }
			wisp.wakeup(unit.task)
		end
	end
	-- the open transaction is gone with it: its writes must not be
	-- committed as if it went on
	self.tx_lost = self.in_tx
	self.in_tx = false
	tx_over(self)
	wisp.log_error(self.down)
	reconnect(self)
end

local function pump(self)
	if self.connecting then
		local status, why = self.raw:status()
		if status == "connecting" then
			return
		end
		self.connecting = false
		if status == "bad" then
			self.down = unavailable(why)
			reconnect(self)
		else
			self.down, self.backoff = nil, BACKOFF_MIN_MS
			wisp.log("postgres connected")
		end
		for _, t in ipairs(self.connect_waiters) do
			wisp.wakeup(t)
		end
		self.connect_waiters = {}
		return
	end
	local results, why = self.raw:results()
	for _, result in ipairs(results) do
		local unit, role = pop_item(self)
		take(self, unit, role, result)
	end
	if why then
		broken(self, why)
	end
end

wisp.dispatch("socket", function(event, id)
	local self = event == pq.READY and conns[id]
	if self and self.raw:id() == id then
		pump(self)
	end
end)

local function start_connect(self)
	if self.raw then
		conns[self.raw:id()] = nil
	end
	self.raw = pq.connect(self.conninfo)
	conns[self.raw:id()] = self
	self.items = { first = 1, last = 0, units = {}, roles = {} }
	self.connecting = true
	for _, s in pairs(self.stmts) do
		s.prepared = false
	end
	pump(self) -- a conninfo libpq cannot read fails at once
end

function reconnect(self)
	local ms = self.backoff
	self.backoff = math.min(ms * 2, BACKOFF_MAX_MS)
	wisp.timeout(ms, function()
		if self.down and not self.connecting and not self.closed then
			start_connect(self)
		end
	end)
end

-- Waits for the connect under way (at most ms); true when connected.
local function await_connect(self, ms)
	local task = coroutine.running()
	self.connect_waiters[#self.connect_waiters + 1] = task
	wisp.timeout(ms, function() wisp.wakeup(task) end)
	wisp.wait()
	return not self.connecting and not self.down
end

-- Opens a connection, waiting for it; raises if PostgreSQL cannot be
-- reached.
function pg.open(conninfo)
	local self = setmetatable({ pipelined = true, conninfo = conninfo,
		stmts = {}, writing = {}, tx_waiters = {}, RETRY = pg.RETRY,
		tx = 0,
		connect_waiters = {}, backoff = BACKOFF_MIN_MS, in_tx = false,
		next_stmt = 0 }, conn)
	start_connect(self)
	if self.connecting and not await_connect(self, CONNECT_WAIT_MS) then
		self.closed = true
		self.raw:close()
		error(self.down or unavailable("no connection after "
			.. CONNECT_WAIT_MS .. " ms"), 0)
	end
	if self.down then
		self.closed = true
		error(self.down, 0)
	end
	return self
end

-- Sends a unit: nil, or the error that kept it from being sent.
local function start_unit(self, unit)
	if self.down or self.connecting then
		return { error = self.down or unavailable("reconnecting"),
			down = true }
	end
	if self.tx_lost and not unit.exec then
		return { error = unavailable("the connection was lost in a "
			.. "transaction"), down = true }
	end
	unit.task = not unit.nowait and coroutine.running() or nil
	unit.in_tx = self.in_tx and not unit.exec
	unit.tx = self.tx
	local ok, err = pcall(send_unit, self, unit)
	if not ok then
		broken(self, err)
		return { error = self.down, down = true }
	end
end

-- Waits for a unit sent by this task: its result, or nil and its error.
local function await_unit(unit)
	repeat
		wisp.wait()
	until unit.done
	if unit.error then
		return nil, unit.error
	end
	return unit.result
end

-- Sends a unit and waits for it: its result, or nil and its error.
local function run_unit(self, unit)
	local err = start_unit(self, unit)
	if err then
		return nil, err
	end
	if unit.nowait then
		return {}
	end
	return await_unit(unit)
end

-- "?" marks, outside quotes, become $1, $2...: the service's SQL is
-- written for sqlite.
local function numbered(sql)
	local out, n, i, len = {}, 0, 1, #sql
	while i <= len do
		local ch = sql:sub(i, i)
		if ch == "'" or ch == '"' then
			local j = sql:find(ch, i + 1, true) or len
			out[#out + 1] = sql:sub(i, j)
			i = j + 1
		else
			if ch == "?" then
				n = n + 1
				ch = "$" .. n
			end
			out[#out + 1] = ch
			i = i + 1
		end
	end
	return table.concat(out), n
end

-- A broken constraint in sqlite's words, which name the table and the
-- column (or the constraint).
local function constraint_text(err)
	local state, t = err.state, err.table or "?"
	if state == "23505" then
		local cols = err.detail and err.detail:match("^Key %((.-)%)=") or "?"
		local names = {}
		for c in cols:gmatch("[^,%s]+") do
			names[#names + 1] = t .. "." .. c
		end
		return "UNIQUE constraint failed: " .. table.concat(names, ", ")
	elseif state == "23502" then
		return "NOT NULL constraint failed: " .. t .. "."
			.. (err.column or "?")
	elseif state == "23514" then
		return "CHECK constraint failed: " .. (err.constraint or "?")
	elseif state == "23503" then
		return "FOREIGN KEY constraint failed: " .. (err.constraint or "?")
	end
end

local function error_text(err)
	local text = constraint_text(err)
	if text then
		return text
	end
	text = err.error
	if err.detail and not err.down then
		text = text .. " (" .. err.detail .. ")"
	end
	return text
end

-- What an exec's error says: why the connection is down, or the server's
-- error.
local function exec_error_text(err)
	return err.down and err.error or "postgres: " .. error_text(err)
end

-- Raises err of an exec; a BEGIN that failed opened no transaction.
local function exec_failed(self, verb, err)
	if verb == "BEGIN" then
		self.in_tx = false
	end
	error(exec_error_text(err), 0)
end

-- Sends sql as conn:exec does, and returns its unit; raises if it could
-- not be sent.
local function send_exec(self, sql, nowait)
	local verb = (sql:match("^%s*(%a+)") or ""):upper()
	local lost = self.tx_lost
	if verb == "BEGIN" or verb == "COMMIT" or verb == "ROLLBACK" then
		self.tx_lost = false
	end
	if lost and verb == "COMMIT" then
		error(unavailable("the connection was lost in the transaction"), 0)
	end
	if verb == "BEGIN" then
		self.in_tx = true
		self.tx = self.tx + 1
	elseif verb == "COMMIT" or verb == "ROLLBACK" or verb == "END" then
		self.in_tx = false
	end
	if verb == "COMMIT" and self.tx_failed then
		error("postgres: the transaction failed", 0)
	end
	if verb == "ROLLBACK" then
		tx_over(self) -- what is sent from now on comes after it
	end
	local body = sql:gsub("[%s;]+$", "")
	local unit = { sql = sql, n = 0, exec = true, verb = verb,
		script = body:find(";", 1, true) ~= nil, nowait = nowait }
	local err = start_unit(self, unit)
	if err then
		exec_failed(self, verb, err)
	end
	return unit
end

-- Runs sql (one or more statements, no parameters: a migration's whole
-- file is sent in one simple query) and raises on an error. BEGIN,
-- COMMIT and ROLLBACK mark where the transaction is, as they are sent.
-- nowait: sent, not waited for (a failure is logged): a BEGIN, whose
-- failure the statements after it show.
function conn:exec(sql, nowait)
	local unit = send_exec(self, sql, nowait)
	if nowait then
		return
	end
	local result, err = await_unit(unit)
	if err then
		exec_failed(self, unit.verb, err)
	end
	if unit.verb == "COMMIT" and result.command ~= "COMMIT" then
		error("postgres: the transaction was rolled back", 0)
	end
end

-- Commits the open transaction without waiting for the answers of its
-- statements, so that the server goes on to the COMMIT at once: it goes
-- behind them, and a ROLLBACK behind it. If a statement before it
-- failed, PostgreSQL skips the COMMIT and, its pipeline going on after
-- the sync, keeps the transaction open and failed: the ROLLBACK ends it,
-- so that nothing sent after is refused. After a COMMIT that ran, the
-- ROLLBACK has nothing to end (a warning, ignored). Returns true; or
-- false, the error's text and whether surely nothing was committed (an
-- earlier statement failed: the writes whose statement had no error may
-- run again).
function conn:commit_early()
	local sent, unit = pcall(send_exec, self, "COMMIT")
	if not sent then
		return false, unit, false
	end
	pcall(self.exec, self, "ROLLBACK", true) -- if unsent, the COMMIT fails
	local result, err = await_unit(unit)
	if err then
		return false, exec_error_text(err), err.state == "aborted"
	end
	if result.command ~= "COMMIT" then
		return false, "postgres: the transaction was rolled back", true
	end
	return true
end

-- A statement, prepared on the server when first used (again after a
-- reconnect).
function conn:prepare(sql)
	local text, n = numbered(sql)
	local s = self.stmts[text]
	if not s then
		self.next_stmt = self.next_stmt + 1
		s = setmetatable({ conn = self, sql = text, params = n,
			name = "wisp_s" .. self.next_stmt, prepared = false }, stmt)
		self.stmts[text] = s
	end
	return s
end

-- The rows (with .changes), or nil, the message and the error.
local function execute(s, ...)
	local n = select("#", ...)
	if n > s.params then
		error(string.format("postgres: %d arguments for %d parameters", n,
			s.params), 0)
	end
	local self = s.conn
	while true do
		-- the fields run_unit and take set are made here, so that the
		-- table is not resized as they come
		local result, err = run_unit(self, { stmt = s, n = s.params,
			task = false, in_tx = false, tx = 0, done = false, ... })
		if result then
			return result
		end
		if not err.retry then
			return nil, err.down and err.error or error_text(err), err
		end
		local task = coroutine.running()
		if self.writing[task] then
			error(pg.RETRY, 0) -- the writer runs it again in a new batch
		end
		while self.tx_failed do -- a read: again once rolled back
			self.tx_waiters[#self.tx_waiters + 1] = task
			wisp.wait()
		end
	end
end

function stmt:rows(...)
	return execute(self, ...)
end

function stmt:first(...)
	local rows, msg, err = execute(self, ...)
	if not rows then
		return nil, msg, err
	end
	return rows[1]
end

-- The rows changed, as sqlite's run answers.
function stmt:run(...)
	local rows, msg, err = execute(self, ...)
	if not rows then
		return nil, msg, err
	end
	return rows.changes
end

function conn:close()
	self.closed = true
	conns[self.raw:id()] = nil
	self.raw:close()
end

return pg
