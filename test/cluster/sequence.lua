-- sequence.lua: the sending side of the order checks. It sends numbered
-- messages ("seq", stream, n) to one receiver, cycling through the
-- addresses given for it, and now and then calls it ("seq_count") to check
-- that everything sent before the call arrived before it, once and in
-- order. peer.lua keeps the receiving side, per sender and stream.
local wisp = require "wisp"

local sequence = {}

-- Raises unless the receiver has seen exactly n messages of stream from
-- this service, numbered 1..n, with no error.
local function expect_count(addr, stream, n)
	local received, last, errors, first_error = wisp.call(addr, "seq_count",
		stream)
	if errors ~= 0 then
		error(string.format("stream %s: %d out of order after %d sent, "
			.. "the first: %s", stream, errors, n, tostring(first_error)), 2)
	end
	if received ~= n or last ~= n then
		error(string.format("stream %s: the receiver has %d messages up to "
			.. "number %d when %d were sent before this call", stream,
			received, last, n), 2)
	end
end

-- Sends count numbered messages of stream, calling every call_every.
function sequence.send(addrs, stream, count, call_every)
	local started = wisp.now()
	for n = 1, count do
		local addr = addrs[n % #addrs + 1]
		if not wisp.send(addr, "seq", stream, n) then
			error("wisp.send to " .. tostring(addr) .. " refused message " .. n)
		end
		if n % call_every == 0 then
			expect_count(addr, stream, n)
		end
	end
	expect_count(addrs[1], stream, count)
	wisp.log(string.format("stream %s: %d messages in order in %d ms", stream,
		count, wisp.now() - started))
end

return sequence
