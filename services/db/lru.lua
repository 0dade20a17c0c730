-- db/lru.lua: the in-process row cache, the embedded default. Rows are
-- kept as tables in two generations: new and recently read rows go to the
-- young one; when the young one holds half the memory cap it becomes the
-- old one and the old one is dropped. A row read from the old generation
-- moves to the young, so what is used stays and what is not goes within
-- two turns: an LRU's behaviour for O(1) work and no list to maintain.
-- Rows are kept packed (wisp.pack), as they are answered: a hit costs no
-- packing, and the size counted is the size held.
local lru = {}
lru.__index = lru

function lru.new(cap_bytes)
	return setmetatable({ cap = cap_bytes, young = {}, old = {}, bytes = 0,
		hits = 0, misses = 0 }, lru)
end

-- Per table: young[t][pk] = the packed row.
local function put(self, t, pk, row)
	local young = self.young[t]
	if not young then
		young = {}
		self.young[t] = young
	end
	young[pk] = row
	self.bytes = self.bytes + #row
	if self.bytes * 2 > self.cap then
		self.old, self.young, self.bytes = self.young, {}, 0
	end
end

function lru:get(t, pk)
	local young = self.young[t]
	local row = young and young[pk]
	if row then
		self.hits = self.hits + 1
		return row
	end
	local old = self.old[t]
	row = old and old[pk]
	if row then
		old[pk] = nil
		put(self, t, pk, row)
		self.hits = self.hits + 1
		return row
	end
	self.misses = self.misses + 1
	return nil
end

function lru:get_many(t, pks)
	local rows = {}
	for _, pk in ipairs(pks) do
		rows[pk] = self:get(t, pk)
	end
	return rows
end

function lru:set(t, pk, row)
	local old = self.old[t]
	if old then
		old[pk] = nil
	end
	if self.cap > 0 then
		put(self, t, pk, row)
	end
end

function lru:delete(t, pk)
	local young, old = self.young[t], self.old[t]
	if young then
		young[pk] = nil
	end
	if old then
		old[pk] = nil
	end
end

function lru:delete_many(t, pks)
	for _, pk in ipairs(pks) do
		self:delete(t, pk)
	end
end

function lru:forget_all()
	self.young, self.old, self.bytes = {}, {}, 0
end

function lru:stats()
	return { kind = "memory", hits = self.hits, misses = self.misses,
		bytes = self.bytes }
end

return lru
