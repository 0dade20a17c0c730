-- console/service.lua: the console, which every node runs (runtime/node.c
-- starts it, as the local name "console"). It answers commands forwarded
-- by the consoles of other nodes, starts the services other nodes ask for
-- with wisp.newservice_at (in C: services/lua/lwisp.c), and, when the
-- node's config gives the addresses, listens for operators
-- (console/session.lua) and for Prometheus scrapes (console/http.lua,
-- console/metrics.lua).
--
-- Arguments, from node.c: "console=HOST:PORT", "metrics=HOST:PORT" and
-- "token=HEX" (the config's console_token, in hex: arguments are words).
local wisp = require "wisp"
local socket = require "wisp.socket"
local run = require "console.run"

local MAX_SESSIONS = 32 -- operators at once; more are turned away
local MAX_SCRAPES = 8   -- metrics requests at once

local settings = {}
for _, word in ipairs({ ... }) do
	local key, value = word:match("^(%w+)=(.*)$")
	if key then
		settings[key] = value
	end
end

local function unhex(s)
	return (s:gsub("%x%x", function(h)
		return string.char(tonumber(h, 16))
	end))
end

local token = settings.token and unhex(settings.token) or nil

-- "HOST:PORT" -> host, port; the last colon splits ("::1:7000").
local function split(address)
	local host, port = address:match("^(.*):(%d+)$")
	return host, tonumber(port)
end

-- Listens on address; for each connection, serve(id, peer) in a task of
-- its own, up to most at once; the others get busy and are closed.
local function listen(what, address, most, busy, serve)
	local host, port = split(address)
	local id, err = socket.listen(host, port)
	if not id then
		error(string.format("console: cannot listen for %s: %s", what, err), 0)
	end
	local active = 0
	wisp.fork(function()
		while true do
			local conn, peer = socket.accept(id)
			if not conn then
				return
			end
			if active >= most then
				socket.write(conn, busy)
				socket.close(conn)
			else
				active = active + 1
				wisp.fork(function()
					local ok, err2 = pcall(serve, conn, peer)
					active = active - 1
					if not ok then
						wisp.log_error("console: " .. tostring(err2))
					end
				end)
			end
		end
	end)
	wisp.log(string.format("console: %s on %s", what, address))
end

-- A command from the console of another node: ok and its values, or
-- false and why.
local function forwarded(_, op, name, args)
	if op ~= "run" or type(name) ~= "string" or type(args) ~= "table" then
		return false, "console: run NAME ARGS expected"
	end
	return pcall(run.here, name, args)
end

wisp.start(function()
	wisp.register("console")
	wisp.dispatch("lua", forwarded)
	-- the launcher of this node: wisp.newservice_at on other nodes
	require("wisp.admin").accept_spawns()
	local ok, err = pcall(function()
		if settings.console then
			local session = require "console.session"
			listen("operators", settings.console, MAX_SESSIONS,
				"ERR busy: too many console connections\n.\n",
				function(conn, peer) session.serve(conn, peer, token) end)
		end
		if settings.metrics then -- only then: they are of no use otherwise
			local http = require "console.http"
			local metrics = require "console.metrics"
			listen("metrics", settings.metrics, MAX_SCRAPES,
				"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n"
					.. "Connection: close\r\n\r\n",
				function(conn) http.serve(conn, token, metrics.render) end)
		end
	end)
	if not ok then -- an address configured but taken: as a gate's port
		wisp.log_error(err)
		wisp.shutdown(1)
	end
end)
