-- db/mcache.lua: the row cache in memcached, when the config lists
-- servers. Keys are PREFIX:GEN:TABLE:PK, values the rows packed by the
-- wisp serializer (the memcached module compresses the large ones).
--
-- Nothing is lost through it: the db service is the only writer, and it
-- writes rows here only after sqlite has committed them. GEN, a counter
-- kept in the database, changes at every start of the service and after
-- every outage, so that a row written while memcached was away (or by a
-- service that crashed between its commit and its cache write) is never
-- read again: the old generation's keys are simply not asked for and
-- expire. Rows come and go packed (wisp.pack). While memcached is away
-- reads go to sqlite (one log line when it
-- goes, one when it comes back) and the game sees no error.
local wisp = require "wisp"
local memcached = require "wisp.memcached"

local mcache = {}
mcache.__index = mcache

local RETRY_MS = 1000

-- settings: the config's db.memcached; new_generation() returns a fresh
-- generation number (committed).
function mcache.new(settings, new_generation)
	local self = setmetatable({
		client = memcached.new{ servers = settings.servers,
			timeout = settings.timeout, compress = settings.compress },
		prefix = settings.prefix, ttl = settings.ttl,
		new_generation = new_generation, up = true, retry_at = 0,
		batched = true, -- a round trip per get is too dear: see batch_reads
		hits = 0, misses = 0, errors = 0,
	}, mcache)
	self:use_generation(new_generation())
	return self
end

-- The keys this service has stored in this generation and not deleted
-- since: only the service writes to its generation, so no other key can
-- hold a row, and a write needs to delete nothing else. (Keys memcached
-- evicted stay listed; deleting them again is harmless.) Past MAX_PLACED
-- keys the list is dropped and every write deletes, as without it.
local MAX_PLACED = 1000000

function mcache:use_generation(gen)
	self.gen = gen
	self.head = self.prefix .. ":" .. gen .. ":"
	self.placed, self.placed_count = {}, 0
end

function mcache:place(key)
	local placed = self.placed
	if placed and not placed[key] then
		placed[key] = true
		self.placed_count = self.placed_count + 1
		if self.placed_count > MAX_PLACED then
			self.placed = nil
		end
	end
end

-- Whether key may hold a row (and so must be deleted), forgetting it.
function mcache:unplace(key)
	local placed = self.placed
	if not placed then
		return true
	end
	if not placed[key] then
		return false
	end
	placed[key] = nil
	self.placed_count = self.placed_count - 1
	return true
end

-- memcached keys are at most 250 bytes with no blanks or control
-- characters: a string key is kept as it is when it is plain ('name), hex
-- otherwise (#6e616d65); an integer is its digits. A row whose key would
-- be too long is simply not cached here (nil).
local MAX_KEY = 250

local function pk_text(pk)
	if math.type(pk) == "integer" then
		return tostring(pk)
	elseif type(pk) == "string" and not pk:find("[^%w%-_%.]") then
		return "'" .. pk
	elseif type(pk) == "string" then
		return "#" .. pk:gsub(".", function(c)
			return string.format("%02x", c:byte())
		end)
	end
	return string.format("%%%a", pk) -- a float, exactly
end

function mcache:key(t, pk)
	local key = self.head .. t .. ":" .. pk_text(pk)
	return #key <= MAX_KEY and key or nil
end

function mcache:went_down(err)
	self.errors = self.errors + 1
	if self.up then
		wisp.log_warn("memcached unavailable (" .. tostring(err)
			.. "); rows are read from sqlite until it is back")
	end
	self.up = false
	self.retry_at = wisp.now() + RETRY_MS
end

-- While down, one call a second is let through to see if it is back.
function mcache:usable()
	if self.up then
		return true
	end
	if wisp.now() < self.retry_at then
		return false
	end
	self.retry_at = wisp.now() + RETRY_MS
	local ok = self.client:get(self.prefix .. ":probe")
	if ok == nil then
		return false
	end
	self.up = true
	self:use_generation(self.new_generation())
	wisp.log("memcached is back; cache generation " .. self.gen)
	return true
end

function mcache:get(t, pk)
	local key = self:key(t, pk)
	if not key or not self:usable() then
		return nil
	end
	local value, err = self.client:get(key)
	if value == nil then
		self:went_down(err)
		return nil
	end
	if value == false then
		self.misses = self.misses + 1
		return nil
	end
	self.hits = self.hits + 1
	return value
end

-- rows[pk] for each pk found; one round trip for all.
function mcache:get_many(t, pks)
	local rows = {}
	if not self:usable() then
		return rows
	end
	local keys, pk_of = {}, {}
	for _, pk in ipairs(pks) do
		local key = self:key(t, pk)
		if key then
			keys[#keys + 1] = key
			pk_of[key] = pk
		end
	end
	if #keys == 0 then
		return rows
	end
	local found, err = self.client:mget(keys)
	if not found then
		self:went_down(err)
		return rows
	end
	for key, value in pairs(found) do
		rows[pk_of[key]] = value
		self.hits = self.hits + 1
	end
	self.misses = self.misses + #keys
	for _ in pairs(found) do
		self.misses = self.misses - 1
	end
	return rows
end

-- A row too large for memcached is deleted instead, so that no older copy
-- of it can be read.
function mcache:set(t, pk, row)
	local key = self:key(t, pk)
	if not key or not self:usable() then
		return
	end
	local ok, err = self.client:set(key, row, self.ttl)
	if ok then
		self:place(key)
		return
	end
	ok, err = self.client:delete(key) -- the set may have been stored
	if ok == nil then
		self:went_down(err)
	end
end

function mcache:delete(t, pk)
	local key = self:key(t, pk)
	if not key or not self:usable() or not self:unplace(key) then
		return
	end
	local ok, err = self.client:delete(key)
	if ok == nil then
		self:went_down(err)
	end
end

-- Deletes the rows of pks (a list) in one go, answers not awaited.
function mcache:delete_many(t, pks)
	if not self:usable() then
		return
	end
	local keys = {}
	for _, pk in ipairs(pks) do
		local key = self:key(t, pk)
		if key and self:unplace(key) then
			keys[#keys + 1] = key
		end
	end
	if #keys == 0 then
		return
	end
	local ok, err = self.client:delete_many(keys)
	if ok == nil then
		self:went_down(err)
	end
end

-- Whatever it held may be stale (a cache write failed midway): a new
-- generation leaves all of it behind.
function mcache:forget_all()
	self:use_generation(self.new_generation())
end

function mcache:stats()
	return { kind = "memcached", hits = self.hits, misses = self.misses,
		errors = self.errors, up = self.up, generation = self.gen }
end

return mcache
