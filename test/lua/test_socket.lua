-- test_socket.lua: wisp.socket over loopback: listen, accept, connect,
-- read, readline, write, close, and handing an accepted socket to another
-- service (sock_agent.lua). Both ends are mostly in this service, a forked
-- task playing the server. Every wait is bounded: the waiting calls run
-- in forked tasks that the case joins, and each case has a watchdog that
-- closes its sockets (waking what waits on them) and wakes its joins.
local wisp = require "wisp"
local socket = require "wisp.socket"
local t = require "testing"

local HOST = "127.0.0.1"
local CASE_MS = 3000

local current -- the running case: { ids, expired, joiners }

local function track(id)
	current.ids[#current.ids + 1] = id
	return id
end

-- Past its time, a case's sockets are closed and its join woken; again
-- every 100 ms until it ends, in case it waits anew after that.
local function watchdog(c)
	if current ~= c then
		return -- the case is over
	end
	c.expired = true
	for _, id in ipairs(c.ids) do
		socket.close(id)
	end
	for co in pairs(c.joiners) do
		wisp.wakeup(co)
	end
	wisp.timeout(100, function() watchdog(c) end)
end

local function case(name, fn)
	t.case(name, function()
		local c = { ids = {}, expired = false, joiners = {} }
		current = c
		wisp.timeout(CASE_MS, function() watchdog(c) end)
		local ok, err = pcall(fn)
		current = nil
		for _, id in ipairs(c.ids) do
			socket.close(id)
		end
		if c.expired then
			error(string.format("watchdog: not done after %d ms (%s)", CASE_MS,
				tostring(err)), 0)
		end
		if not ok then
			error(err, 0)
		end
	end)
end

-- Runs fn(...) in a task of its own; the function returned waits for
-- its results (or its error) for as long as the case's watchdog allows.
local function go(fn, ...)
	local c, result, joiner = current, nil, nil
	wisp.fork(function(...)
		result = table.pack(pcall(fn, ...))
		if joiner then
			wisp.wakeup(joiner)
		end
	end, ...)
	return function()
		joiner = coroutine.running()
		c.joiners[joiner] = true
		while result == nil and not c.expired do
			wisp.wait()
		end
		c.joiners[joiner] = nil
		if result == nil then
			error("a forked task did not finish", 2)
		end
		if not result[1] then
			error(result[2], 0)
		end
		return table.unpack(result, 2, result.n)
	end
end

-- The waiting calls of wisp.socket, each run in a forked task that the
-- case joins: a wait the module fails to end still ends with the case.
local w = {}
for _, name in ipairs({ "read", "readline", "accept", "connect" }) do
	local fn = socket[name]
	w[name] = function(...)
		return go(fn, ...)()
	end
end

local function listen()
	local id = track(assert(socket.listen(HOST, 0)))
	return id, assert(socket.port(id))
end

local function connect(port)
	return track(assert(w.connect(HOST, port)))
end

local function accept(listener)
	local id, peer = w.accept(listener)
	assert(id, peer)
	return track(id), peer
end

-- A connected pair: the client's end, the server's.
local function pair()
	local listener, port = listen()
	local client = connect(port)
	return client, accept(listener)
end

-- Writes each piece with a pause between, so that they arrive apart.
local function trickle(id, ...)
	for i = 1, select("#", ...) do
		assert(socket.write(id, (select(i, ...))))
		wisp.sleep(5)
	end
end

case("listen, accept and connect in one service; echo a line", function()
	local listener, port = listen()
	local server = go(function()
		local id, peer = accept(listener)
		local line = assert(w.readline(id))
		assert(socket.write(id, line .. "\n"))
		return peer
	end)
	local client = connect(port)
	t.eq(socket.write(client, "hello, wisp\n"), true, "write")
	t.eq(w.readline(client), "hello, wisp", "echoed line")
	t.eq(server(), HOST .. ":" .. socket.port(client), "peer address")
end)

case("readline: lines split across writes, separators spanning them", function()
	local client, server = pair()
	local writer = go(trickle, client, "ab", "c\r", "\nd\n\n", "x<E", "N", "D>y<END>")
	t.eq(w.readline(server, "\r\n"), "abc", "\\r\\n split in two")
	t.eq(w.readline(server), "d")
	t.eq(w.readline(server), "", "an empty line")
	t.eq(w.readline(server, "<END>"), "x", "separator over three writes")
	t.eq(w.readline(server, "<END>"), "y")
	writer()
	-- the buffer empties after a line found in a later piece, then fills
	writer = go(trickle, client, "a", "b\n", "c\n")
	t.eq(w.readline(server), "ab")
	t.eq(w.readline(server), "c", "a line in the first piece after")
	writer()
	-- bytes already read are not part of a separator
	writer = go(trickle, client, "q<END>", "zz<END>")
	t.eq(w.readline(server, "<"), "q")
	t.eq(w.readline(server, "<END>"), "END>zz", "no match across the read point")
	writer()
	trickle(client, "tail")
	socket.close(client)
	local line, err, rest = w.readline(server)
	t.eq(line, nil, "no line after the peer closed")
	t.eq(err, "closed")
	t.eq(rest, "tail", "the unterminated rest")
	t.raises("non%-empty separator", w.readline, server, "")
end)

case("readline finds many lines in one piece", function()
	local client, server = pair()
	local lines = {}
	for i = 1, 500 do
		lines[i] = "line " .. i
	end
	assert(socket.write(client, table.concat(lines, "\n") .. "\n"))
	for i = 1, 500 do
		t.eq(w.readline(server), lines[i], "line " .. i)
	end
end)

case("read(n) waits for exactly n bytes across several writes", function()
	local client, server = pair()
	local writer = go(trickle, client, "12", "345", "6789", "0")
	t.eq(w.read(server, 4), "1234")
	t.eq(w.read(server, 5), "56789")
	t.eq(w.read(server, 0), "", "read(0)")
	t.eq(w.read(server, 1), "0")
	writer()
	t.raises("byte count", w.read, server, -1)
	t.raises("byte count", w.read, server, 1.5)
end)

case("read without n: what is buffered, or the next bytes", function()
	local client, server = pair()
	assert(socket.write(client, "abc"))
	t.eq(w.read(server), "abc", "waits for the first bytes")
	trickle(client, "de", "f")
	wisp.sleep(20)
	t.eq(w.read(server), "def", "all that is buffered, at once")
	local writer = go(function()
		wisp.sleep(30)
		trickle(client, "late")
	end)
	t.eq(w.read(server), "late", "waits for the next")
	writer()
end)

case("many small writes arrive whole and in order", function()
	local client, server = pair()
	local want = {}
	for i = 1, 300 do
		want[i] = i .. ","
	end
	want = table.concat(want)
	local writer = go(function()
		for i = 1, 300 do
			assert(socket.write(client, i .. ","))
			if i % 3 == 0 then
				wisp.sleep(1) -- let them come as pieces, buffered unread
			end
		end
	end)
	writer()
	wisp.sleep(20)
	t.eq(w.read(server, #want), want, "all pieces in order")
	-- and packed: the kernel may join them, the runtime keeps the order
	local lines = {}
	for i = 1, 2000 do
		lines[i] = tostring(i)
		assert(socket.write(client, lines[i] .. "\n"))
	end
	for i = 1, 2000 do
		t.eq(w.readline(server), lines[i], "line " .. i)
	end
end)

case("1 MB crosses intact", function()
	local client, server = pair()
	local bytes = {}
	for i = 0, 255 do
		bytes[i + 1] = string.char(i)
	end
	local all = table.concat(bytes)
	local blocks = {}
	for i = 1, 4096 do -- numbered, every byte value, 256 bytes each
		local r = i % 256
		local rotated = all:sub(r + 1) .. all:sub(1, r)
		blocks[i] = string.pack(">I4", i) .. rotated:sub(1, 252)
	end
	local data = table.concat(blocks)
	t.eq(#data, 1024 * 1024, "size sent")
	t.eq(socket.write(client, data), true, "one write, buffered past the kernel")
	local got = w.read(server, #data)
	t.eq(#got, #data, "size received")
	t.ok(got == data, "the bytes are the same")
	-- and back, read as it comes
	assert(socket.write(server, data))
	local parts, size = {}, 0
	while size < #data do
		local piece = assert(w.read(client))
		parts[#parts + 1] = piece
		size = size + #piece
	end
	t.ok(table.concat(parts) == data, "the bytes are the same, read in pieces")
end)

case("the peer closing wakes a waiting reader with nil, \"closed\"", function()
	local client, server = pair()
	local reader = go(socket.read, server)
	wisp.sleep(10)
	socket.close(client)
	local data, err = reader()
	t.eq(data, nil, "no data")
	t.eq(err, "closed", "reason")
	-- bytes sent before the close are still read first
	client, server = pair()
	assert(socket.write(client, "last words"))
	socket.close(client)
	t.eq(w.read(server, 10), "last words", "read(n) after the close")
	t.eq(select(2, w.read(server)), "closed", "then closed")
	t.eq(select(2, socket.write(server, "x")), "closed", "write after the close")
	-- a read(n) cut short gives back what came
	client, server = pair()
	reader = go(socket.read, server, 10)
	trickle(client, "abc")
	socket.close(client)
	local got, why, partial = reader()
	t.eq(got, nil, "short read(n)")
	t.eq(why, "closed")
	t.eq(partial, "abc", "the partial bytes")
end)

case("connect to a closed port, listen on a taken one: errors", function()
	local listener, port = listen()
	local ok, err = socket.listen(HOST, port)
	t.eq(ok, nil, "listen on a taken port")
	t.ok(err:find("in use"), "error: " .. tostring(err))
	socket.close(listener)
	local started = wisp.now()
	ok, err = w.connect(HOST, port)
	t.eq(ok, nil, "connect to a closed port")
	t.ok(err:find("refused"), "error: " .. tostring(err))
	t.ok(wisp.now() - started < 1000, "fails fast")
	ok, err = w.connect("not an address", 80)
	t.eq(ok, nil, "connect to a bad address")
	t.ok(err:find("not an address"), "error names the address: " .. tostring(err))
end)

case("accept queues connections that come before it is called", function()
	local listener, port = listen()
	local clients = {}
	for i = 1, 3 do
		clients[i] = connect(port)
	end
	wisp.sleep(20) -- the ACCEPT events arrive with nobody accepting
	for i = 1, 3 do
		local server, peer = accept(listener)
		t.eq(peer, HOST .. ":" .. socket.port(clients[i]), "peer " .. i)
		assert(socket.write(clients[i], "n" .. i .. "\n"))
		t.eq(w.readline(server), "n" .. i, "connection " .. i)
	end
	-- closing the listener closes what it had queued
	local late = connect(port)
	wisp.sleep(20)
	socket.close(listener)
	t.eq(select(2, w.read(late)), "closed", "a queued connection is closed")
end)

case("an accepted socket handed to another service", function()
	local agent = wisp.newservice("sock_agent")
	local listener, port = listen()
	local client = connect(port)
	-- sent before anyone reads the new socket: the kernel keeps it
	assert(socket.write(client, "early\n"))
	local id = w.accept(listener) -- not tracked: the agent owns it
	wisp.sleep(20)
	t.eq(wisp.call_timeout(1000, agent, "serve", id), true, "serve")
	t.eq(w.readline(client), "echo:early", "bytes sent before the hand-off")
	assert(socket.write(client, "second\n"))
	t.eq(w.readline(client), "echo:second")
	assert(socket.write(client, "quit\n"))
	t.eq(select(2, w.read(client)), "closed", "the agent closed it")
	local ok, err = wisp.call_timeout(1000, agent, "serve", id)
	t.eq(ok, nil, "a closed id cannot be started")
	t.ok(err, "with a reason")
	wisp.kill(agent)
end)

case("close wakes a waiting reader and a waiting accepter", function()
	local listener = listen()
	local client, server = pair()
	local reader = go(socket.read, server)
	local accepter = go(socket.accept, listener)
	local liner = go(socket.readline, client)
	trickle(server, "no newline")
	socket.close(server)
	socket.close(listener)
	socket.close(client)
	t.eq(select(2, reader()), "closed", "reader")
	t.eq(select(2, accepter()), "closed", "accepter")
	local line, err, rest = liner()
	t.eq(line, nil, "readline")
	t.eq(err, "closed")
	t.eq(rest, "no newline", "readline's partial line")
	t.eq(select(2, w.read(server)), "closed", "read after close")
	t.eq(select(2, w.accept(listener)), "closed", "accept after close")
end)

case("a second task waiting on the same socket raises", function()
	local listener = listen()
	local client, server = pair()
	local reader = go(socket.read, server, 3)
	wisp.sleep(10)
	t.raises("socket " .. server .. " is already waited on", w.read, server)
	t.raises("socket " .. server .. " is already waited on", w.readline, server)
	local accepter = go(socket.accept, listener)
	wisp.sleep(10)
	t.raises("socket " .. listener .. " is already waited on", w.accept, listener)
	t.raises("socket " .. listener .. " is a listener", w.read, listener)
	t.raises("socket " .. server .. " is not a listener", w.accept, server)
	assert(socket.write(client, "abc"))
	t.eq(reader(), "abc", "the first reader still reads")
	socket.close(listener)
	accepter()
end)

case("past the write limit the socket fails; its reader gets why", function()
	local client = pair() -- the server end is never read: bytes pile up
	local reader = go(socket.read, client)
	local chunk = string.rep("x", 1024 * 1024)
	local ok, err
	for _ = 1, 64 do
		ok, err = socket.write(client, chunk)
		if not ok then
			break
		end
	end
	t.eq(ok, nil, "a write fails")
	t.ok(err, "with a reason")
	local data, why = reader()
	t.eq(data, nil)
	t.ok(tostring(why):find("write buffer limit"), "reason: " .. tostring(why))
end)

t.run()
