-- silent_calls.lua: calls to silent.lua made in bulk, each from a task of
-- its own, as the call timeout test and benchmark make them.
local wisp = require "wisp"

local silent_calls = {}

local BATCH = 1000

-- The ids from first to last, in a list.
function silent_calls.range(first, last)
	local ids = {}
	for id = first, last do
		ids[#ids + 1] = id
	end
	return ids
end

-- Calls silent with "hold", id for each id of ids, each from a new task,
-- batch by batch: silent takes a batch before the next is made, so its
-- mailbox stays short. Each task asks timeout_of(id) for its call's
-- timeout as it makes it; done(id, ok, result) runs as each call ends.
function silent_calls.call_all(silent, ids, timeout_of, done)
	for b = 1, #ids, BATCH do
		for i = b, math.min(b + BATCH - 1, #ids) do
			local id = ids[i]
			wisp.fork(function()
				done(id, pcall(wisp.call_timeout, timeout_of(id), silent, "hold",
					id))
			end)
		end
		wisp.sleep(0) -- the batch runs and sends
		wisp.call(silent, "sync")
	end
end

return silent_calls
