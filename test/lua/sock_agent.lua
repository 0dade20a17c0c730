-- sock_agent.lua: a service the socket tests hand accepted connections
-- to. "serve" takes one over with socket.start and echoes it line by line,
-- each line prefixed with "echo:", until the peer sends "quit" or closes.
local wisp = require "wisp"
local socket = require "wisp.socket"

local commands = {}

function commands.serve(id)
	local ok, err = socket.start(id)
	if not ok then
		return nil, err
	end
	-- the echo runs on in its own task, so that the caller's answer need
	-- not wait for the connection to end
	wisp.fork(function()
		while true do
			local line = socket.readline(id)
			if line == nil or line == "quit" then
				break
			end
			socket.write(id, "echo:" .. line .. "\n")
		end
		socket.close(id)
	end)
	return true
end

wisp.start(function()
	wisp.dispatch("lua", function(_, cmd, ...)
		local f = commands[cmd]
		if not f then
			error("sock_agent: unknown command " .. tostring(cmd))
		end
		return f(...)
	end)
end)
