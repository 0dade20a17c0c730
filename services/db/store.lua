-- db/store.lua: the operations of the db service on its tables: get,
-- get_many, by_fk, range, new, update, delete, incr, and the static tables.
-- Reads go to the cache, then sqlite; writes go through the writer (group
-- commit) and reach the cache only once committed. Every error names the
-- table, and the column when there is one.
local wisp = require "wisp"
local schema = require "db.schema"
local batch_reads = require "db.batch_reads"

local store = {}
store.__index = store

local fail, check_pk = schema.fail, schema.check_pk
local statement = schema.statement
local pack, unpack = wisp.pack, wisp.unpack
local load -- below

-- conn: the sqlite connection; tables: schema.load's; cache: lru or
-- mcache; writer: the group commit; static: { [name] = true }.
function store.open(conn, tables, cache, writer, static)
	local self = setmetatable({ conn = conn, tables = tables, cache = cache,
		writer = writer, static = static, static_rows = {} }, store)
	if cache.batched then
		self.batch = batch_reads.new(cache, function(t, pk)
			return load(self, t, pk)
		end)
	end
	for name in pairs(static) do
		self:reload(name)
	end
	return self
end

function store:table(name)
	local t = type(name) == "string" and self.tables[name]
	if not t then
		fail("unknown table '%s'", tostring(name))
	end
	if t.unsupported then
		fail("table %s %s: wisp.db needs a primary key of one column", name,
			t.unsupported)
	end
	return t
end

local function writable(self, name)
	local t = self:table(name)
	if self.static[name] then
		fail("table %s is static (read-only): change it with a migration, "
			.. "then reload it", name)
	end
	return t
end

-- A checked sqlite result: the row(s), or an error naming the table (and
-- the column, which sqlite's constraint messages carry as table.column).
local function checked(t, result, message)
	if result == nil and message then
		fail("table %s: %s", t.name, message)
	end
	return result
end

local booleans = schema.booleans

-- checked for a list of rows, with their booleans.
local function checked_rows(t, rows, message)
	checked(t, rows, message)
	if t.booleans then
		for i = 1, #rows do
			booleans(t, rows[i])
		end
	end
	return rows
end

-- The declaration a client makes: the table exists, and its keys are
-- what the client thinks they are.
function store:declare(name, decl)
	local t = self:table(name)
	decl = decl or {}
	if decl.pk and decl.pk ~= t.pk then
		fail("table %s has the primary key %s, not %s", name, t.pk,
			tostring(decl.pk))
	end
	if decl.fk then
		schema.column(t, decl.fk)
	end
	if decl.auto and not t.auto then
		fail("table %s: its primary key %s is not INTEGER PRIMARY KEY, so "
			.. "sqlite cannot assign it", name, t.pk)
	end
	return true
end

local function read_row(self, t, pk)
	self.writer:idle()
	local s = statement(self.conn, t, "pk", schema.sql_select, t, t.pk)
	return booleans(t, checked(t, s:first(pk)))
end

-- The row packed, from sqlite, into the cache unless it has uncommitted
-- changes; nil if there is no such row.
function load(self, t, pk)
	local row = read_row(self, t, pk)
	if not row then
		return nil
	end
	local packed = pack(row)
	if not self.writer:pending(t.name, pk) then
		self.cache:set(t.name, pk, packed)
	end
	return packed
end

-- The row packed (as the cache holds it and the caller gets it), or nil.
-- With a batching cache (memcached), nothing: the answer comes later.
function store:get(name, pk)
	local t = self:table(name)
	check_pk(t, pk)
	if self.batch then
		self.batch:get(t, pk)
		return nil
	end
	return self.cache:get(name, pk) or load(self, t, pk)
end

-- { [pk] = row } for the pks that exist.
function store:get_many(name, pks)
	local t = self:table(name)
	if type(pks) ~= "table" then
		fail("table %s: get_many takes a list of keys", name)
	end
	for _, pk in ipairs(pks) do
		check_pk(t, pk)
	end
	local rows = self.cache:get_many(name, pks)
	for _, pk in ipairs(pks) do
		local packed = rows[pk] or load(self, t, pk)
		rows[pk] = packed and unpack(packed)
	end
	return rows
end

function store:by_fk(name, column, value)
	local t = self:table(name)
	local c = schema.column(t, column)
	schema.check_value(t, c, value)
	self.writer:idle()
	local s = statement(self.conn, t, "fk:" .. column,
		schema.sql_select, t, column)
	return checked_rows(t, s:rows(value))
end

local RANGE_LIMIT_MAX = 1000 -- rows a page may ask for: a reply's bound

-- range's options checked: the column, the direction, the page size and
-- the cursor ({ key = pk, value = v }, value nil in the NULLs).
local function range_options(t, o)
	if type(o) ~= "table" then
		fail("table %s: range takes a table of options, got %s", t.name,
			type(o))
	end
	local c = schema.column(t, o.by)
	if not t.indexed[c.name] then
		fail("table %s: range by %s needs an index on it (CREATE INDEX in a "
			.. "migration)", t.name, c.name)
	end
	local limit = o.limit or 10
	if math.type(limit) ~= "integer" or limit < 1 or limit > RANGE_LIMIT_MAX then
		fail("table %s: range's limit must be an integer from 1 to %d",
			t.name, RANGE_LIMIT_MAX)
	end
	local after = o.after
	if after ~= nil then
		if type(after) ~= "table" or after.key == nil then
			fail("table %s: range's after must be the next of an earlier "
				.. "page", t.name)
		end
		check_pk(t, after.key)
		schema.check_value(t, c, after.value)
	end
	return c.name, o.desc == true, limit, after
end

local function range_rows(self, t, column, desc, nulls, from, ...)
	local key = table.concat({ "range", column, desc and "d" or "a",
		nulls and "n" or "v", from }, ":")
	self.writer:idle()
	local s = statement(self.conn, t, key,
		schema.sql_range, t, column, desc, nulls, from)
	return checked_rows(t, s:rows(...))
end

-- One page in the order of an indexed column: { rows = {...}, next =
-- cursor } (next nil on the last page). One row more than asked is read
-- to know whether there is a next page.
function store:range(name, options)
	local t = self:table(name)
	local column, desc, limit, after = range_options(t, options)
	local want = limit + 1
	local rows = {}
	if after == nil or after.value ~= nil then
		local from = after and "value" or "start"
		if after then
			rows = range_rows(self, t, column, desc, false, from, after.value,
				after.key, want)
		else
			rows = range_rows(self, t, column, desc, false, from, want)
		end
	end
	if #rows < want then
		local nulls = after and after.value == nil
			and range_rows(self, t, column, desc, true, "null", after.key,
				want - #rows)
			or range_rows(self, t, column, desc, true, "start", want - #rows)
		table.move(nulls, 1, #nulls, #rows + 1, rows)
	end
	local page = { rows = rows }
	if #rows > limit then
		rows[want] = nil
		local last = rows[limit]
		page.next = { key = last[t.pk], value = last[column] }
	end
	return page
end

local function run_insert(self, t, row)
	local names = schema.check_fields(t, row)
	local key = "new:" .. table.concat(names, ",")
	local s = statement(self.conn, t, key, schema.sql_insert, t, names)
	local values = {}
	for i, n in ipairs(names) do
		values[i] = row[n]
	end
	self.writer:final_statement()
	local new = booleans(t, checked(t, s:first(table.unpack(values, 1,
		#names))))
	self.writer:touch(t.name, new[t.pk], new)
	return new
end

function store:new(name, row)
	local t = writable(self, name)
	if type(row) ~= "table" then
		fail("table %s: new takes a row (a table)", name)
	end
	if row[t.pk] == nil and not t.auto then
		fail("table %s: the primary key %s is needed", name, t.pk)
	end
	self.writer:write(run_insert, self, t, row)
end

-- fields[names[i]], ... fields[names[#names]], then last: a statement's
-- arguments, with no table made for them.
local function field_values(fields, names, i, last)
	local name = names[i]
	if name == nil then
		return last
	end
	return fields[name], field_values(fields, names, i + 1, last)
end

local function run_update(self, t, pk, fields, names)
	local key = "set:" .. table.concat(names, ",")
	local s = statement(self.conn, t, key, schema.sql_update, t, names)
	self.writer:final_statement()
	local changes = checked(t, s:run(field_values(fields, names, 1, pk)))
	if changes == 0 then
		fail("table %s has no row %s", t.name, tostring(pk))
	end
	self.writer:touch(t.name, pk)
	return true
end

function store:update(name, pk, fields)
	local t = writable(self, name)
	check_pk(t, pk)
	local names = schema.check_fields(t, fields)
	if fields[t.pk] ~= nil and fields[t.pk] ~= pk then
		fail("table %s: update cannot change the primary key %s", name, t.pk)
	end
	if #names == 0 then -- nothing to change, but the row must exist
		if not read_row(self, t, pk) then
			fail("table %s has no row %s", name, tostring(pk))
		end
		return true
	end
	self.writer:write(run_update, self, t, pk, fields, names)
end

local function run_incr(self, t, pk, column, n)
	local s = statement(self.conn, t, "incr:" .. column,
		schema.sql_incr, t, column)
	self.writer:final_statement()
	local row = checked(t, s:first(n, pk))
	if row == nil then
		fail("table %s has no row %s", t.name, tostring(pk))
	end
	self.writer:touch(t.name, pk)
	return row[column]
end

function store:incr(name, pk, column, n)
	local t = writable(self, name)
	check_pk(t, pk)
	local c = schema.column(t, column)
	if c.kind ~= "integer" and c.kind ~= "number" then
		fail("%s.%s is not a number column: incr needs one", name, column)
	end
	n = n == nil and 1 or n
	schema.check_value(t, c, n)
	self.writer:write(run_incr, self, t, pk, column, n)
end

local function run_delete(self, t, pk)
	local s = statement(self.conn, t, "delete", schema.sql_delete, t)
	self.writer:final_statement()
	local changes = checked(t, s:run(pk))
	self.writer:touch(t.name, pk)
	return changes > 0
end

function store:delete(name, pk)
	local t = writable(self, name)
	check_pk(t, pk)
	self.writer:write(run_delete, self, t, pk)
end

-- Static tables: every row, by primary key, read at start and on reload.
function store:reload(name)
	local t = self:table(name)
	if not self.static[name] then
		fail("table %s is not static (db.static in the config)", name)
	end
	local rows = {}
	self.writer:idle()
	local all = checked_rows(t, self.conn:prepare(schema.sql_all(t)):rows())
	for _, row in ipairs(all) do
		rows[row[t.pk]] = row
	end
	self.static_rows[name] = rows
	return #all
end

function store:static_table(name)
	self:table(name)
	local rows = self.static_rows[name]
	if not rows then
		fail("table %s is not static (db.static in the config)", name)
	end
	return rows
end

return store
