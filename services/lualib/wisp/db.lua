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

local address

-- "db" on the db node itself, "db@NODE" elsewhere.
local function db_address()
	if not address then
		local ok, name, addr = pcall(cluster.db)
		if not ok then
			error("wisp.db: " .. name, 3)
		end
		address = addr
	end
	return address
end

-- One value back, or the db service's error text without the call's
-- wrapping, raised at the caller of the table function.
local function call(...)
	local ok, result = pcall(wisp.call, db_address(), ...)
	if ok then
		return result
	end
	local reason = tostring(result):match("(db: .*)$") or tostring(result)
	error(reason, 3)
end

-- decl: { pk = "column", fk = "column", auto = true }, each optional.
function db.table(name, decl)
	decl = decl or {}
	local declared = false
	local function op(what, ...)
		if not declared then
			call("declare", name, decl)
			declared = true
		end
		return call(what, name, ...)
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
	return call("static", name)
end

-- Reads a static table from the database again; returns its row count.
function db.reload(name)
	return call("reload", name)
end

-- The db service's counters: cache hits and misses, commits, rows.
function db.stats()
	return call("stats")
end

return db
