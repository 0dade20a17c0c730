-- silent.lua: a service that keeps the calls made to it unanswered until
-- told (call timeout tests and benchmark). "hold", id: kept; "answer",
-- { ids }: those held answer with their id; "sync": answers how many are
-- held, at once, so every call sent before it has been taken; "drop": the
-- held are let go (their callers get an error, long after they stopped
-- waiting).
local wisp = require "wisp"

local held, count = {}, 0
local commands = {}

function commands.hold(id)
	held[id] = wisp.response()
	count = count + 1
end

function commands.answer(ids)
	for _, id in ipairs(ids) do
		held[id](true, id)
		held[id] = nil
		count = count - 1
	end
end

function commands.sync()
	return count
end

function commands.drop()
	held, count = {}, 0
	collectgarbage()
end

wisp.dispatch("lua", function(_, cmd, ...)
	return commands[cmd](...)
end)
