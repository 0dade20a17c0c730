-- console/admit.lua: the listeners of the console and of the metrics
-- endpoint, and which of their connections get served. A connection that
-- has not authenticated yet (console: no "auth TOKEN" yet, or without a
-- token no line yet; metrics: its request not complete) waits in a small
-- pool of its own, for a short time: however many connections anyone
-- opens and leaves idle, they take no place of an operator who has
-- authenticated, and a new connection always gets a chance to. Past the
-- pool, the oldest waiting connection makes room for the new one: an
-- idle one then holds its place only until the next connection comes,
-- while an operator, who authenticates at once, is in before then.
local wisp = require "wisp"
local socket = require "wisp.socket"

local format = string.format

local admit = {}

-- A connection: id, peer ("ip:port"), and where it is: "waiting",
-- "served" or "closed".
local conn = {}
conn.__index = conn

-- Takes c out of the pool it is in.
local function leave(c)
	local pool = c.listener.pools[c.state]
	for i = #pool, 1, -1 do
		if pool[i] == c then
			table.remove(pool, i)
		end
	end
end

-- Closes the connection, once, whatever it was doing: a task reading it
-- gets nil, "closed". Only this closes it: a socket id may be reused
-- once closed. farewell, if any, is written first.
function conn:close(farewell)
	if self.state == "closed" then
		return
	end
	leave(self)
	self.state = "closed"
	if farewell then
		socket.write(self.id, farewell)
	end
	socket.close(self.id)
end

-- The connection has authenticated: true once it is among those served,
-- or false when they are as many as the limit (it is then closed, told
-- so).
function conn:authenticated()
	if self.state ~= "waiting" then
		return self.state == "served"
	end
	local l = self.listener
	if #l.pools.served >= l.opts.served then
		wisp.log_warn(format("console: %s: %s turned away: %d connections "
			.. "served at once (the limit)", l.what, self.peer, l.opts.served))
		self:close(l.opts.busy)
		return false
	end
	leave(self)
	self.state = "served"
	table.insert(l.pools.served, self)
	return true
end

-- Makes room in the waiting pool for one more: its oldest goes.
local function evict(l)
	local pool = l.pools.waiting
	if #pool < l.opts.waiting then
		return
	end
	local oldest = pool[1]
	wisp.log_warn(format("console: %s: %d connections not yet authenticated "
		.. "(the limit): closed the oldest, from %s", l.what, l.opts.waiting,
		oldest.peer))
	oldest:close(l.opts.evicted)
end

local function expire(c)
	if c.state ~= "waiting" then
		return
	end
	local l = c.listener
	wisp.log_warn(format("console: %s: %s closed: not authenticated within "
		.. "%d ms (console_auth_timeout)", l.what, c.peer, l.opts.deadline_ms))
	c:close(l.opts.expired)
end

local function serve_one(l, id, peer, serve)
	evict(l)
	local c = setmetatable({ id = id, peer = peer, listener = l,
		state = "waiting" }, conn)
	table.insert(l.pools.waiting, c)
	wisp.timeout(l.opts.deadline_ms, function() expire(c) end)
	wisp.fork(function()
		local ok, err = pcall(serve, c)
		c:close()
		if not ok then
			wisp.log_error("console: " .. tostring(err))
		end
	end)
end

-- "HOST:PORT" -> host, port; the last colon splits ("::1:7000").
local function split(address)
	local host, port = address:match("^(.*):(%d+)$")
	return host, tonumber(port)
end

-- Listens on address (for what: "operators", "metrics") and runs
-- serve(c) in a task of its own for each connection c. opts: waiting
-- and served (the pools' limits), deadline_ms (to authenticate), and
-- what a connection is told when closed for want of room (evicted, busy)
-- or of time (expired).
function admit.listen(what, address, opts, serve)
	local host, port = split(address)
	local id, err = socket.listen(host, port)
	if not id then
		error(format("console: cannot listen for %s: %s", what, err), 0)
	end
	local l = { what = what, opts = opts,
		pools = { waiting = {}, served = {} } }
	wisp.fork(function()
		while true do
			local c, peer = socket.accept(id)
			if not c then
				return
			end
			serve_one(l, c, peer, serve)
		end
	end)
	wisp.log(format("console: %s on %s", what, address))
end

return admit
