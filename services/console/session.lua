-- console/session.lua: one operator connection to the console and its
-- line protocol. The client sends lines "COMMAND ARGS..."; each gets the
-- reply's lines and then a line "." (an error: "ERR message" first). A
-- reply line that starts with "." gets one more in front, as in SMTP,
-- so that only the end is a lone ".". With a token configured, the first
-- line must be "auth TOKEN": commands before it are refused, and a wrong
-- token closes the connection. Until then (without a token, until its
-- first line) the connection is one of the few waiting ones of
-- console/admit.lua, closed if it takes too long.
local wisp = require "wisp"
local socket = require "wisp.socket"
local auth = require "console.auth"
local lines = require "console.lines"
local run = require "console.run"

local concat = table.concat

local MAX_LINE = 4096

local session = {}

-- reply as sent: its lines dot-stuffed, then ".".
local function frame(reply)
	local out = {}
	if reply ~= "" then
		for line in (reply .. "\n"):gmatch("(.-)\n") do
			out[#out + 1] = line:sub(1, 1) == "." and "." .. line or line
		end
	end
	out[#out + 1] = ".\n"
	return concat(out, "\n")
end

local function fail(message)
	return frame("ERR " .. message)
end

-- The reply to "auth TOKEN", and whether to close after it.
local function authenticate(state, given)
	if not auth.token_ok(given) then
		wisp.log_warn("console: a wrong token from " .. state.c.peer)
		return fail("wrong token"), true
	end
	if not state.c:authenticated() then
		return nil, true -- turned away, and told so
	end
	state.authed = true
	return frame("authenticated")
end

-- The reply to one line, and whether to close after it.
local function answer(state, line)
	local command, rest = line:match("^%s*(%S*)%s*(.-)%s*$")
	if command == "" then
		return frame("")
	elseif command == "auth" then
		return authenticate(state, rest)
	elseif not state.authed then
		return fail("authentication required: send auth TOKEN first")
	elseif command == "quit" then
		return frame("bye"), true
	end
	wisp.log("console: " .. state.c.peer .. ": " .. line)
	local ok, reply = pcall(run.line, line)
	return ok and frame(reply) or fail(tostring(reply))
end

-- Serves the connection c (console/admit.lua) until it ends; c is closed
-- by the caller.
function session.serve(c)
	local state = { c = c, authed = false }
	local read = lines.reader(c.id, MAX_LINE)
	while c.state ~= "closed" do
		local line, why = read()
		if not line then
			if why == "line too long" then
				socket.write(c.id, fail("line too long"))
			end
			break
		end
		if not state.authed and auth.token() == nil then
			state.authed = c:authenticated() -- its first line, the request
			if not state.authed then
				break
			end
		end
		local reply, done = answer(state, line)
		if c.state == "closed" then
			break
		end
		socket.write(c.id, reply)
		if done then
			break
		end
	end
end

return session
