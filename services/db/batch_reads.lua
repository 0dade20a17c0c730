-- db/batch_reads.lua: gets against memcached, batched. Each get waits;
-- once the burst of messages queued for the service is served
-- (wisp.when_idle), one mget per table asks memcached for every key at
-- once, and each waiting get is answered: with the cached bytes as they
-- are, or from sqlite on a miss. One round trip serves a whole burst,
-- where one per get would hold the node for each.
local wisp = require "wisp"

local batch_reads = {}
batch_reads.__index = batch_reads

local respond_packed = wisp.respond_packed

-- load(t, pk): the row packed, from sqlite (and into the cache), or nil.
function batch_reads.new(cache, load)
	return setmetatable({ cache = cache, load = load, waiting = nil },
		batch_reads)
end

function batch_reads:flush()
	local waiting = self.waiting
	self.waiting = nil
	for t, gets in pairs(waiting) do
		local found = self.cache:get_many(t.name, gets.pks)
		for i, pk in ipairs(gets.pks) do
			local packed = found[pk] or self.load(t, pk)
			local respond = gets.answers[i]
			if packed then
				respond_packed(respond, packed)
			else
				respond(true, nil)
			end
		end
	end
end

-- Queues a get of table t's row pk; the caller's answer comes later.
function batch_reads:get(t, pk)
	local waiting = self.waiting
	if not waiting then
		waiting = {}
		self.waiting = waiting
		wisp.when_idle(function() self:flush() end)
	end
	local gets = waiting[t]
	if not gets then
		gets = { pks = {}, answers = {} }
		waiting[t] = gets
	end
	local n = #gets.pks + 1
	gets.pks[n] = pk
	gets.answers[n] = wisp.response()
end

return batch_reads
