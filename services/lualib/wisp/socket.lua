-- wisp/socket.lua: sockets for Lua services as calls that wait: accept,
-- connect, read and readline suspend only the calling task. It owns the
-- service's "socket" handler (registered when first required) and, per
-- socket, the bytes received but not yet read and the task waiting on it.
--
-- Ownership: the service that listens or connects owns the socket. An
-- accepted socket belongs to the accepting service but stays paused (the
-- kernel holds its bytes) until its first read here starts it, or another
-- service takes it with socket.start(id). So a listener can hand an id to
-- an agent, which calls socket.start and reads, with no byte left behind
-- in the listener. Hand an id over before reading it: bytes read here
-- stay here. (A read of any id unknown here starts it, taking it over.)
--
-- A socket's state lives until socket.close(id), even after the peer
-- closed it, so that what arrived first can still be read: always close.
-- Bytes that arrive with no reader, and connections nobody accepts, are
-- queued without bound.
local wisp = require "wisp"
local core = require "wisp.socket.core"

local find, sub, concat = string.find, string.sub, table.concat

local socket = {}

-- id -> state. A stream: { buf, reader, closed, connecting }; a listener:
-- { listener = true, queue, reader, closed }. reader is the task inside
-- read, readline, accept or connect; closed the reason reads now get.
local sockets = {}

-- The buffer: pieces kept as they came and joined only when read, so that
-- many small pieces cost O(bytes), not O(bytes^2). Positions are absolute
-- (bytes since the socket opened), so that a readline waiting for more
-- searches only the new pieces.

local function buffer_new()
	-- pieces[head..tail] hold the bytes; off of pieces[head] are read;
	-- starts[i] is where pieces[i] begins; pos is where unread bytes begin;
	-- scan is the first piece the last search for scan_sep did not rule out.
	return { pieces = {}, starts = {}, head = 1, tail = 0, off = 0, size = 0,
		pos = 0, scan = 1, scan_sep = nil }
end

local function buffer_push(b, s)
	if #s == 0 then
		return
	end
	local i = b.tail + 1
	b.tail = i
	b.pieces[i] = s
	b.starts[i] = b.pos + b.size
	b.size = b.size + #s
end

-- Removes and returns the first n bytes (n <= b.size).
local function buffer_take(b, n)
	if n == 0 then
		return ""
	end
	local pieces, starts = b.pieces, b.starts
	local parts, count = {}, 0
	b.size = b.size - n
	b.pos = b.pos + n
	while n > 0 do
		local h = b.head
		local p = pieces[h]
		local avail = #p - b.off
		count = count + 1
		if avail <= n then
			parts[count] = b.off == 0 and p or sub(p, b.off + 1)
			pieces[h], starts[h] = nil, nil
			b.head, b.off = h + 1, 0
			n = n - avail
		else
			parts[count] = sub(p, b.off + 1, b.off + n)
			b.off = b.off + n
			n = 0
		end
	end
	if b.size == 0 then -- start the indices over rather than let them grow
		b.head, b.tail, b.scan = 1, 0, 1
	end
	return count == 1 and parts[1] or concat(parts)
end

-- Up to n unread bytes just before piece i, for a separator that spans
-- pieces.
local function buffer_before(b, i, n)
	local parts, count = {}, 0
	local j = i - 1
	while n > 0 and j >= b.head do
		local p = b.pieces[j]
		local avail = #p - (j == b.head and b.off or 0)
		count = count + 1
		if avail >= n then
			parts[count] = sub(p, #p - n + 1)
			n = 0
		else
			parts[count] = sub(p, #p - avail + 1)
			n = n - avail
		end
		j = j - 1
	end
	for k = 1, count // 2 do -- gathered backwards
		parts[k], parts[count + 1 - k] = parts[count + 1 - k], parts[k]
	end
	return concat(parts)
end

-- The absolute position of the first unread sep, or nil.
local function buffer_find(b, sep)
	local k = #sep
	local i = b.scan
	if b.scan_sep ~= sep or i < b.head then
		i = b.head
		b.scan_sep = sep
	end
	while i <= b.tail do
		local p = b.pieces[i]
		if k > 1 and i > b.head then
			local before = buffer_before(b, i, k - 1)
			local at = find(before .. sub(p, 1, k - 1), sep, 1, true)
			if at and at <= #before then
				b.scan = i
				return b.starts[i] - #before + at - 1
			end
		end
		local at = find(p, sep, i == b.head and b.off + 1 or 1, true)
		if at then
			b.scan = i
			return b.starts[i] + at - 1
		end
		i = i + 1
	end
	b.scan = i -- every piece so far is ruled out, and the boundaries before
	return nil
end

-- Events. Each runs in a task of its own: they only record and wake.

local function wake(s)
	if s.reader then
		wisp.wakeup(s.reader) -- a no-op unless it is in wisp.wait
	end
end

local events = {}

events[core.DATA] = function(id, _, data)
	local s = sockets[id]
	if s and not s.closed then
		buffer_push(s.buf, data)
		wake(s)
	end
end

events[core.ACCEPT] = function(id, conn, peer)
	local s = sockets[id]
	if s == nil or s.closed or not s.listener then
		core.close(conn) -- accepted as the listener was being closed
		return
	end
	local q = s.queue
	q.tail = q.tail + 1
	q[q.tail] = { conn, peer }
	wake(s)
end

events[core.CONNECT] = function(id)
	local s = sockets[id]
	if s then
		s.connecting = nil
		wake(s)
	end
end

events[core.CLOSE] = function(id)
	local s = sockets[id]
	if s and not s.closed then
		s.closed = "closed"
		wake(s)
	end
end

events[core.ERROR] = function(id, _, reason)
	local s = sockets[id]
	if s and not s.closed then
		s.closed = reason
		wake(s)
	end
end

wisp.dispatch("socket", function(event, id, ud, data)
	local handle = events[event]
	if handle then
		handle(id, ud, data)
	end
end)

local function new_stream(id)
	local s = { buf = buffer_new() }
	sockets[id] = s
	return s
end

-- The state of id for a task about to wait on it, which becomes its
-- reader. An accepted socket this service has not started yet is started
-- here, on first use; nil when id is not open.
local function claim(id, what, want_listener)
	local s = sockets[id]
	if s == nil then
		if want_listener then
			return nil
		end
		s = new_stream(id)
		if not core.start(id) then
			sockets[id] = nil
			return nil
		end
	end
	if (s.listener or false) ~= want_listener then
		error(string.format("socket.%s: socket %d is %s", what, id,
			s.listener and "a listener" or "not a listener"), 3)
	end
	if s.reader then
		error(string.format("socket.%s: socket %d is already waited on by "
			.. "another task", what, id), 3)
	end
	s.reader = coroutine.running()
	return s
end

-- Runs fn(s, ...) as s's reader; the reader is released however fn ends.
local function as_reader(s, fn, ...)
	local ok, a, b, c = pcall(fn, s, ...)
	s.reader = nil
	if not ok then
		error(a, 0)
	end
	return a, b, c
end

-- What a read gets once s is closed: the reason, and any bytes short of
-- what it waited for (then dropped from the buffer).
local function closed_result(s)
	return nil, s.closed, buffer_take(s.buf, s.buf.size)
end

function socket.listen(host, port, backlog)
	local id, err = core.listen(host, port, backlog)
	if not id then
		return nil, string.format("listen on %s:%s: %s", host, port, err)
	end
	sockets[id] = { listener = true, queue = { head = 1, tail = 0 } }
	return id
end

local function accept_wait(s)
	local q = s.queue
	while q.head > q.tail do
		if s.closed then
			return nil, s.closed
		end
		wisp.wait()
	end
	local conn = q[q.head]
	q[q.head] = nil
	q.head = q.head + 1
	if q.head > q.tail then -- empty: start the indices over
		q.head, q.tail = 1, 0
	end
	return conn[1], conn[2]
end

-- Waits for the next connection: its id and the peer's "ip:port". The
-- new socket belongs to this service and is started on first read (see
-- the top). nil, "closed" when the listener is or gets closed.
function socket.accept(id)
	local s = claim(id, "accept", true)
	if s == nil then
		return nil, "closed"
	end
	return as_reader(s, accept_wait)
end

local function connect_wait(s)
	while s.connecting and not s.closed do
		wisp.wait()
	end
	return s.closed
end

-- Waits until connected: the id, or nil and why not.
function socket.connect(host, port)
	local id, err = core.connect(host, port)
	if not id then
		return nil, string.format("connect to %s:%s: %s", host, port, err)
	end
	local s = new_stream(id)
	s.connecting = true
	s.reader = coroutine.running()
	local ok, failed = pcall(connect_wait, s)
	s.reader = nil
	if not ok then -- not in a wisp task: nobody will ever wait for it
		socket.close(id)
		error(failed, 0)
	end
	if failed then
		if sockets[id] == s then
			sockets[id] = nil -- the runtime has freed it already
		end
		return nil, failed
	end
	return id
end

local function read_wait(s, n)
	local b = s.buf
	if n then
		while b.size < n do
			if s.closed then
				return closed_result(s)
			end
			wisp.wait()
		end
		return buffer_take(b, n)
	end
	while b.size == 0 do
		if s.closed then
			return nil, s.closed
		end
		wisp.wait()
	end
	return buffer_take(b, b.size)
end

-- read(id, n): exactly n bytes. read(id): what is buffered, or the next
-- bytes to come. Once the socket is closed, buffered bytes are still
-- returned; then nil and the reason ("closed", or the error). A read(n)
-- cut short returns nil, reason and the partial bytes as a third value.
function socket.read(id, n)
	if n ~= nil and (math.type(n) ~= "integer" or n < 0) then
		error("socket.read: a byte count (integer >= 0) expected", 2)
	end
	if n == 0 then
		return ""
	end
	local s = claim(id, "read", false)
	if s == nil then
		return nil, "closed"
	end
	return as_reader(s, read_wait, n)
end

local function readline_wait(s, sep)
	local b = s.buf
	while true do
		local at = buffer_find(b, sep)
		if at then
			local line = buffer_take(b, at - b.pos)
			buffer_take(b, #sep)
			return line
		end
		if s.closed then
			return closed_result(s)
		end
		wisp.wait()
	end
end

-- The next line without its separator (default "\n"). If the socket
-- closes first: nil, the reason, and the unterminated rest.
function socket.readline(id, sep)
	sep = sep or "\n"
	if type(sep) ~= "string" or sep == "" then
		error("socket.readline: a non-empty separator expected", 2)
	end
	local s = claim(id, "readline", false)
	if s == nil then
		return nil, "closed"
	end
	return as_reader(s, readline_wait, sep)
end

-- Never waits: what the kernel does not take is buffered, up to the
-- node's socket_write_limit; past it the socket is closed with an error.
function socket.write(id, data)
	local s = sockets[id]
	if s and s.closed then
		return nil, s.closed
	end
	return core.write(id, data)
end

-- Closes id (what was written is still sent) and forgets it. A task
-- waiting on it gets nil, "closed"; connections a listener had queued are
-- closed too.
function socket.close(id)
	core.close(id)
	local s = sockets[id]
	if s == nil then
		return
	end
	sockets[id] = nil
	s.closed = "closed"
	if s.listener then
		local q = s.queue
		for i = q.head, q.tail do
			core.close(q[i][1])
			q[i] = nil
		end
		q.head, q.tail = 1, 0
	end
	wake(s)
end

-- Takes id over from the service that accepted it: its events come here
-- from now on. true, or nil and why.
function socket.start(id)
	if sockets[id] then
		return core.start(id)
	end
	new_stream(id)
	local ok, err = core.start(id)
	if not ok then
		sockets[id] = nil
		return nil, err
	end
	return true
end

function socket.port(id)
	return core.port(id)
end

return socket
