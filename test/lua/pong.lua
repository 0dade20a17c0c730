-- pong.lua: a service the tests talk to. Its commands cover answers,
-- deferred answers, errors, slow answers and calls onward.
local wisp = require "wisp"
local name = ...

local count = 0
local commands = {}

function commands.ping(...)
	count = count + 1
	return "pong", ...
end

function commands.count()
	return count
end

function commands.fail(msg)
	error(msg or "pong failed on purpose")
end

function commands.slow(ms, ...)
	wisp.sleep(ms)
	return ...
end

function commands.later(ms, value)
	local respond = wisp.response()
	wisp.timeout(ms, function() respond(true, value) end)
end

function commands.refuse(reason)
	local respond = wisp.response()
	respond(false, reason)
end

function commands.ret(...)
	wisp.ret(...)
	return "ignored"
end

function commands.relay(addr, ...)
	return wisp.call(addr, ...)
end

function commands.spin()
	while true do end
end

function commands.hog(n)
	local t = {}
	for i = 1, n do
		t[i] = string.rep("x", 64) .. i
	end
	return #t
end

function commands.limit(bytes)
	wisp.memory_limit(bytes)
end

function commands.mailbox(messages, bytes)
	wisp.mailbox_limit(messages, bytes)
end

function commands.memory()
	collectgarbage()
	return wisp.stats().memory
end

function commands.unpackable()
	return 1, print -- a function cannot be an answer
end

-- the trace the call is served in, before and after a sleep
function commands.trace(ms)
	local before = wisp.trace()
	wisp.sleep(ms or 0)
	return before, wisp.trace()
end

function commands.quit()
	wisp.exit()
end

wisp.start(function()
	wisp.dispatch("lua", function(source, cmd, ...)
		local f = commands[cmd]
		if not f then
			error("pong: unknown command " .. tostring(cmd))
		end
		return f(...)
	end)
	if name then
		wisp.register(name)
	end
end)
