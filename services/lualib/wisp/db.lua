-- wisp/db.lua: tables of the db role for game services on any node, in
-- the spirit of Firefly's MAdmin:
--
--   local db = require "wisp.db"
--   local players = db.table("player", { pk = "id", fk = "account",
--       auto = true })
--   local p = players.new({ account = "ann", name = "Ann" })  -- p.id set
--   players.update(p.id, { level = 2 })  -- only level changes; true
--   players.incr(p.id, "gold", 10)       -- atomic; returns the new value
--   players.get(p.id), players.get_many({ 1, 2 }), players.by_fk("ann")
--   local page = players:range{ by = "score", desc = true, limit = 10 }
--   -- page.rows in order; players:range{ ..., after = page.next } goes on
--   players.delete(p.id)
--
-- Each call waits for the db service; a write returns once it is
-- committed. Errors (unknown table or column, a value of the wrong type, a
-- broken constraint) are raised here and name the table and column. The
-- declaration is checked against the database on first use.
local wisp = require "wisp"
local cluster = require "wisp.cluster"

local db = {}

local settings = require "wisp.db.settings"

local addresses = {} -- by table: the address of its db service from here

-- The db node that owns table name: the one whose db.tables lists it, or
-- the db node that lists none.
local function owner(name)
	local node = settings.owners[name] or settings.default_owner
	if node then
		return node
	end
	if not cluster.names("db")[1] then
		error("wisp.db: no node of the config has the db role", 3)
	end
	error("wisp.db: no db node owns the table " .. tostring(name)
		.. ": list it in the db.tables of one", 3)
end

-- "db" on the owner itself, "db@NODE" elsewhere.
local function db_address(name)
	local address = addresses[name]
	if not address then
		address = cluster.address("db", owner(name))
		addresses[name] = address
	end
	return address
end

-- One value back, or the db service's error text without the call's
-- wrapping, raised at the caller of the table function.
local function call_at(address, ...)
	local ok, result = pcall(wisp.call, address, ...)
	if ok then
		return result
	end
	local reason = tostring(result):match("(db: .*)$") or tostring(result)
	error(reason, 4)
end

-- The same, to the owner of table name.
local function call(name, ...)
	return call_at(db_address(name), ...)
end

-- decl: { pk = "column", fk = "column", auto = true }, each optional.
function db.table(name, decl)
	decl = decl or {}
	local declared = false
	local function op(what, ...)
		if not declared then
			call(name, "declare", name, decl)
			declared = true
		end
		return call(name, what, name, ...)
	end
	local t
	t = {
		name = name,
		get = function(pk) return op("get", pk) end,
		get_many = function(pks) return op("get_many", pks) end,
		by_fk = function(value)
			if not decl.fk then
				error("wisp.db: table " .. name .. " was declared without fk", 2)
			end
			return op("by_fk", decl.fk, value)
		end,
		-- a page of rows in the order of an indexed column: called as
		-- t.range(options) or t:range(options)
		range = function(first, options)
			if first == t then
				first = options
			end
			return op("range", first)
		end,
		new = function(row) return op("new", row) end,
		update = function(pk, fields) return op("update", pk, fields) end,
		delete = function(pk) return op("delete", pk) end,
		incr = function(pk, field, n) return op("incr", pk, field, n) end,
	}
	return t
end

-- Static (read-only) game data: every row of a table named in db.static,
-- by primary key, as loaded at start or by the last reload.
function db.static(name)
	return call(name, "static", name)
end

-- Reads a static table from the database again; returns its row count.
function db.reload(name)
	return call(name, "reload", name)
end

-- The db service's counters: cache hits and misses, commits, rows.
-- node: a db node's name; the one owning the tables no other lists if
-- nil.
function db.stats(node)
	node = node or settings.default_owner or owner(nil)
	return call_at(cluster.address("db", node), "stats")
end

return db
