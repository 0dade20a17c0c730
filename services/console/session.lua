-- console/session.lua: one operator connection to the console and its
-- line protocol. The client sends lines "COMMAND ARGS..."; each gets the
-- reply's lines and then a line "." (an error: "ERR message" first). A
-- reply line that starts with "." gets one more in front, as in SMTP,
-- so that only the end is a lone ".". With a token configured, the first
-- line must be "auth TOKEN": commands before it are refused, a wrong
-- token closes the connection, and so does silence past AUTH_MS.
local wisp = require "wisp"
local socket = require "wisp.socket"
local lines = require "console.lines"
local run = require "console.run"

local concat = table.concat

local MAX_LINE = 4096
local AUTH_MS = 10000

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

-- Compares all of a and b, whatever differs first: how long the check
-- takes tells nothing of the token.
local function same(a, b)
	if #a ~= #b then
		return false
	end
	local diff = 0
	for i = 1, #a do
		diff = diff | (a:byte(i) ~ b:byte(i))
	end
	return diff == 0
end

-- The reply to one line, and whether to close after it.
local function answer(state, line)
	local command, rest = line:match("^%s*(%S*)%s*(.-)%s*$")
	if command == "" then
		return frame("")
	elseif command == "auth" then
		if state.token == nil or same(rest, state.token) then
			state.authed = true
			return frame("authenticated")
		end
		wisp.log_warn("console: a wrong token from " .. state.peer)
		return fail("wrong token"), true
	elseif not state.authed then
		return fail("authentication required: send auth TOKEN first")
	elseif command == "quit" then
		return frame("bye"), true
	end
	wisp.log("console: " .. state.peer .. ": " .. line)
	local ok, reply = pcall(run.line, line)
	return ok and frame(reply) or fail(tostring(reply))
end

local function close(state)
	if not state.closed then
		state.closed = true
		socket.close(state.id)
	end
end

-- Serves the connection id from peer ("ip:port") until it ends.
function session.serve(id, peer, token)
	local state = { id = id, peer = peer, token = token, authed = token == nil }
	if not state.authed then
		wisp.timeout(AUTH_MS, function()
			if not state.authed then
				close(state)
			end
		end)
	end
	local read = lines.reader(id, MAX_LINE)
	while not state.closed do
		local line, why = read()
		if not line then
			if why == "line too long" then
				socket.write(id, fail("line too long"))
			end
			break
		end
		local reply, done = answer(state, line)
		if state.closed then
			break
		end
		socket.write(id, reply)
		if done then
			break
		end
	end
	close(state)
end

return session
