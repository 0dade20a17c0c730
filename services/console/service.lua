-- console/service.lua: the console, which every node runs (runtime/node.c
-- starts it, as the local name "console"). It answers commands forwarded
-- by the consoles of other nodes, starts the services other nodes ask for
-- with wisp.newservice_at (in C: services/lua/lwisp.c), and, when the
-- node's config gives the addresses, listens for operators
-- (console/session.lua) and for Prometheus scrapes (console/http.lua,
-- console/metrics.lua).
--
-- Arguments, from config_console.c: "console=HOST:PORT",
-- "metrics=HOST:PORT", "token=HEX" (the config's console_token, in hex:
-- arguments are words) and "auth_ms=MS" (console_auth_timeout).
local wisp = require "wisp"
local admit = require "console.admit"
local auth = require "console.auth"
local run = require "console.run"

local MAX_SESSIONS = 32 -- operators at once; more are turned away
local MAX_SCRAPES = 8   -- metrics requests at once
local MAX_WAITING = 8   -- connections of each not yet authenticated

local settings = {}
for _, word in ipairs({ ... }) do
	local key, value = word:match("^([%w_]+)=(.*)$")
	if key then
		settings[key] = value
	end
end

local function unhex(s)
	return (s:gsub("%x%x", function(h)
		return string.char(tonumber(h, 16))
	end))
end

auth.set_token(settings.token and unhex(settings.token) or nil)
-- the time to authenticate; the config always says (5000 by default)
local auth_ms = math.tointeger(tonumber(settings.auth_ms)) or 5000

local function console_limits()
	local function says(text) -- a reply as console/session.lua frames it
		return "ERR " .. text .. "\n.\n"
	end
	return { waiting = MAX_WAITING, served = MAX_SESSIONS,
		deadline_ms = auth_ms,
		evicted = says("busy: too many unauthenticated console connections"),
		expired = says("not authenticated in time"),
		busy = says("busy: too many console connections") }
end

local function metrics_limits()
	local function says(status, text)
		return string.format("HTTP/1.1 %s\r\nContent-Type: text/plain\r\n"
			.. "Content-Length: %d\r\nConnection: close\r\n\r\n%s", status,
			#text + 1, text .. "\n")
	end
	return { waiting = MAX_WAITING, served = MAX_SCRAPES,
		deadline_ms = auth_ms,
		evicted = says("503 Service Unavailable", "too many connections"),
		expired = says("408 Request Timeout", "request not complete in time"),
		busy = says("503 Service Unavailable", "too many requests") }
end

-- Answers the request being handled, if it is a call, with an error
-- (raising one would log it as this service's failure).
local function refuse(why)
	local asked, respond = pcall(wisp.response)
	if asked then
		respond(false, "console: refused: " .. why)
	end
end

-- A command from the console of another node: ok and its values, or
-- false and why; refused (an error) unless it carries the token and comes
-- from a console (console/auth.lua). "whoami" is how a console asks
-- another which handle it has; "slow" reports a slow call.
local function forwarded(source, op, name, args, token)
	if op == "whoami" then
		return wisp.self()
	end
	-- "slow", TARGET, MS, TRACE: a call of this node's took too long
	-- (services/lua/ltrace.c); only this node's services report them
	if op == "slow" and auth.local_source(source) then
		return run.slow(name, args, token)
	end
	if op ~= "run" or type(name) ~= "string" or type(args) ~= "table" then
		return false, "console: run NAME ARGS expected"
	end
	local why = auth.refuse_forwarded(source, token)
	if why then
		return refuse(why)
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
			admit.listen("operators", settings.console, console_limits(),
				session.serve)
		end
		if settings.metrics then -- only then: they are of no use otherwise
			local http = require "console.http"
			local metrics = require "console.metrics"
			admit.listen("metrics", settings.metrics, metrics_limits(),
				function(c) http.serve(c, metrics.render) end)
		end
	end)
	if not ok then -- an address configured but taken: as a gate's port
		wisp.log_error(err)
		wisp.shutdown(1)
	end
end)
