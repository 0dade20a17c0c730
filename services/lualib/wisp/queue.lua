-- wisp/queue.lua: a lock that keeps a service's critical sections in
-- order. Tasks that enter while another holds it wait, first come first
-- served, even when the holder suspends in a call; the holder may enter
-- again (nested sections) without waiting on itself.
local wisp = require "wisp"

local function new_queue()
	local owner, depth = nil, 0
	local waiting, head, tail = {}, 1, 0

	local function leave(ok, ...)
		depth = depth - 1
		if depth == 0 then
			owner = nil
			if head <= tail then
				owner = waiting[head]
				waiting[head] = nil
				head = head + 1
				wisp.wakeup(owner)
			end
		end
		if not ok then
			error((...), 0)
		end
		return ...
	end

	return function(fn, ...)
		local co = coroutine.running()
		if owner == nil then
			owner = co
		elseif owner ~= co then
			tail = tail + 1
			waiting[tail] = co
			wisp.wait() -- leave() hands the lock over before waking us
		end
		depth = depth + 1
		return leave(pcall(fn, ...))
	end
end

return new_queue
