-- console/lines.lua: reading lines from a socket with a bound on their
-- length, so that a peer that never sends a newline cannot make the
-- console buffer without end (socket.readline would).
local socket = require "wisp.socket"

local lines = {}

-- A reader of id's lines; each call returns the next line without its
-- "\n" or "\r\n", or nil and why ("closed", "line too long").
function lines.reader(id, max)
	local buf = ""
	return function()
		while true do
			local at = buf:find("\n", 1, true)
			if (at or #buf) > max + 1 then
				return nil, "line too long"
			end
			if at then
				local line = buf:sub(1, at - 1)
				buf = buf:sub(at + 1)
				return (line:gsub("\r$", ""))
			end
			local data, err = socket.read(id)
			if not data then
				return nil, err
			end
			buf = buf .. data
		end
	end
end

return lines
