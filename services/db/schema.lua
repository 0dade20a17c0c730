-- db/schema.lua: what the db service knows of its tables, read from
-- the database itself after the migrations (sqlite's pragmas, or
-- PostgreSQL's catalog): columns, their types and the primary key. It
-- checks the values a request brings against them (errors name the table
-- and column) and writes the SQL of each statement. SQL is
-- only ever built from these names, quoted; values are always bound.
local schema = {}

local concat, format = table.concat, string.format
local math_type = math.type

-- sqlite's type affinity rules (https://sqlite.org/datatype3.html, 3.1),
-- as the Lua type a column takes; a column declared BOOLEAN (NUMERIC
-- affinity) takes booleans, stored as 1 and 0 and read back as booleans.
local function kind_of(declared)
	local t = declared:upper()
	if t:find("BOOL", 1, true) then
		return "boolean"
	elseif t:find("INT", 1, true) then
		return "integer"
	elseif t:find("CHAR", 1, true) or t:find("CLOB", 1, true)
		or t:find("TEXT", 1, true) then
		return "string"
	elseif t == "" or t:find("BLOB", 1, true) then
		return "any"
	end
	return "number"
end

local function quote(name)
	return '"' .. name:gsub('"', '""') .. '"'
end
schema.quote = quote

local function load_table(conn, name)
	local info = conn:prepare([[SELECT name, type, "notnull", pk
		FROM pragma_table_info(?) ORDER BY cid]])
	local t = { name = name, q = quote(name), columns = {}, order = {},
		stmts = {} }
	local pks = {}
	for _, c in ipairs(assert(info:rows(name))) do
		local kind = kind_of(c.type or "")
		t.columns[c.name] = { name = c.name, kind = kind, notnull = c.notnull == 1,
			q = quote(c.name) }
		t.order[#t.order + 1] = c.name
		if kind == "boolean" then
			t.booleans = t.booleans or {}
			t.booleans[#t.booleans + 1] = c.name
		end
		if c.pk > 0 then
			pks[#pks + 1] = c.name
			-- INTEGER PRIMARY KEY is the rowid: sqlite assigns it
			t.auto = (c.type or ""):upper() == "INTEGER"
		end
	end
	if #pks == 1 then
		t.pk = pks[1]
	else
		t.auto = false
		t.unsupported = #pks == 0 and "has no primary key"
			or "has a primary key of several columns"
	end
	return t
end

-- The columns that lead an index of table t, which range can order by
-- without sorting the table; the primary key always can.
local function load_indexes(conn, t)
	local list = conn:prepare([[SELECT ii.name AS name FROM
		pragma_index_list(?) AS il, pragma_index_info(il.name) AS ii
		WHERE ii.seqno = 0]])
	t.indexed = {}
	for _, c in ipairs(assert(list:rows(t.name))) do
		t.indexed[c.name] = true
	end
	if t.pk then
		t.indexed[t.pk] = true
	end
end

-- Every table of the database but sqlite's own and the service's.
function schema.load(conn)
	local list = conn:prepare([[SELECT name FROM sqlite_schema WHERE
		type = 'table' AND name NOT LIKE 'sqlite\_%' ESCAPE '\'
		AND name NOT LIKE 'wisp\_%' ESCAPE '\' ORDER BY name]])
	local tables = {}
	for _, row in ipairs(assert(list:rows())) do
		local t = load_table(conn, row.name)
		load_indexes(conn, t)
		tables[row.name] = t
	end
	return tables
end

-- PostgreSQL's types as the Lua type a column takes; bytea, like a
-- sqlite BLOB, takes strings and numbers. wisp.pq reads booleans as such.
local function pg_kind(declared)
	if declared:find("int", 1, true) then
		return "integer"
	elseif declared == "real" or declared == "double precision"
		or declared:find("^numeric") then
		return "number"
	elseif declared == "boolean" then
		return "boolean"
	elseif declared == "bytea" then
		return "any"
	end
	return "string"
end

local PG_TABLE = [[c.relnamespace = current_schema()::regnamespace
	AND c.relkind IN ('r', 'p') AND c.relname NOT LIKE 'wisp\_%']]

local function pg_rows(conn, sql)
	return assert(conn:prepare(sql):rows())
end

local function pg_columns(conn, tables)
	for _, c in ipairs(pg_rows(conn, [[SELECT c.relname AS tbl,
		a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type,
		a.attnotnull AS notnull, (a.attidentity <> '' OR COALESCE(
		pg_get_expr(d.adbin, d.adrelid) LIKE 'nextval(%', false)) AS auto
		FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid
		LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
		WHERE a.attnum > 0 AND NOT a.attisdropped AND ]] .. PG_TABLE
		.. " ORDER BY c.relname, a.attnum")) do
		local t = tables[c.tbl]
		if not t then
			t = { name = c.tbl, q = quote(c.tbl), columns = {}, order = {},
				stmts = {}, indexed = {}, pks = {} }
			tables[c.tbl] = t
		end
		t.columns[c.name] = { name = c.name, kind = pg_kind(c.type),
			notnull = c.notnull, q = quote(c.name), auto = c.auto }
		t.order[#t.order + 1] = c.name
	end
end

-- The primary keys' columns, and the columns that lead an index.
local function pg_indexes(conn, tables)
	for _, i in ipairs(pg_rows(conn, [[SELECT c.relname AS tbl,
		a.attname AS name, i.indisprimary AS pk, a.attnum = i.indkey[0]
		AS lead FROM pg_class c JOIN pg_index i ON i.indrelid = c.oid
		JOIN pg_attribute a ON a.attrelid = c.oid
		AND a.attnum = ANY (i.indkey) WHERE ]] .. PG_TABLE)) do
		local t = tables[i.tbl]
		if i.pk then
			t.pks[#t.pks + 1] = i.name
		end
		if i.lead then
			t.indexed[i.name] = true
		end
	end
end

-- Every table of the current schema but the service's (wisp_*).
function schema.load_pg(conn)
	local tables = {}
	pg_columns(conn, tables)
	pg_indexes(conn, tables)
	for _, t in pairs(tables) do
		if #t.pks == 1 then
			t.pk = t.pks[1]
			t.auto = t.columns[t.pk].auto
		else
			t.auto = false
			t.unsupported = #t.pks == 0 and "has no primary key"
				or "has a primary key of several columns"
		end
		t.pks = nil
	end
	return tables
end

-- A row as sqlite gives it, its BOOLEAN columns (1 and 0) made booleans
-- again; returns it.
function schema.booleans(t, row)
	local names = t.booleans
	if names and row then
		for i = 1, #names do
			local v = row[names[i]]
			if v ~= nil then
				row[names[i]] = v ~= 0
			end
		end
	end
	return row
end

function schema.fail(fmt, ...)
	error("db: " .. format(fmt, ...), 0)
end
local fail = schema.fail

local function type_name(v)
	local t = math_type(v)
	return t or type(v)
end

local wanted = { integer = "an integer", number = "a number",
	string = "a string", boolean = "a boolean", any = "a string or a number" }

-- Raises unless v fits column c of table t (nil is left to NOT NULL).
function schema.check_value(t, c, v)
	if v == nil then
		return
	end
	local kind, vt = c.kind, type(v)
	if kind == "integer" then
		if math_type(v) == "integer" then
			return
		end
	elseif kind == "number" then
		if vt == "number" then
			return
		end
	elseif kind == "string" then
		if vt == "string" then
			return
		end
	elseif kind == "boolean" then
		if vt == "boolean" then
			return
		end
	elseif vt == "string" or vt == "number" then
		return
	end
	fail("%s.%s wants %s, got %s", t.name, c.name, wanted[kind], type_name(v))
end

function schema.column(t, name)
	local c = type(name) == "string" and t.columns[name]
	if not c then
		fail("table %s has no column '%s'", t.name, tostring(name))
	end
	return c
end

-- The names of fields, sorted (so that one statement serves any order of
-- the same fields), each checked with its value.
function schema.check_fields(t, fields)
	if type(fields) ~= "table" then
		fail("table %s: the fields must be a table, got %s", t.name, type(fields))
	end
	local names = {}
	for k, v in pairs(fields) do
		schema.check_value(t, schema.column(t, k), v)
		names[#names + 1] = k
	end
	table.sort(names)
	return names
end

function schema.check_pk(t, pk)
	if pk == nil then
		fail("table %s: a primary key (%s) is needed", t.name, t.pk)
	end
	schema.check_value(t, t.columns[t.pk], pk)
end

local function columns_sql(t, names, sep, suffix)
	local parts = {}
	for i, n in ipairs(names) do
		parts[i] = t.columns[n].q .. suffix
	end
	return concat(parts, sep)
end

-- The prepared statement for key, made of build(...)'s SQL the first
-- time (build and its arguments, not a closure: no allocation per call).
function schema.statement(conn, t, key, build, ...)
	local s = t.stmts[key]
	if not s then
		s = conn:prepare(build(...))
		t.stmts[key] = s
	end
	return s
end

function schema.sql_select(t, column)
	return format("SELECT * FROM %s WHERE %s = ?", t.q, t.columns[column].q)
end

function schema.sql_all(t)
	return format("SELECT * FROM %s", t.q)
end

-- A page of range: rows in the order of column, then of the primary key
-- (the tie-break, so that a cursor names one place), NULLs after every
-- value. from: "start" (the first page), "value" (after a cursor whose
-- value is not NULL: ? ? are that value and key) or "null" (after a
-- cursor in the NULLs: ? is its key). Each query is one index walk: the
-- values, then the NULLs, are asked for apart.
function schema.sql_range(t, column, desc, nulls, from)
	local c, k = t.columns[column].q, t.columns[t.pk].q
	local dir = desc and "DESC" or "ASC"
	local where
	if nulls then
		where = format("%s IS NULL", c)
		if from == "null" then
			where = format("%s AND %s %s ?", where, k, desc and "<" or ">")
		end
		return format("SELECT * FROM %s WHERE %s ORDER BY %s %s LIMIT ?",
			t.q, where, k, dir)
	end
	where = format("%s IS NOT NULL", c)
	if from == "value" then
		where = format("%s AND (%s, %s) %s (?, ?)", where, c, k,
			desc and "<" or ">")
	end
	return format("SELECT * FROM %s WHERE %s ORDER BY %s %s, %s %s LIMIT ?",
		t.q, where, c, dir, k, dir)
end

function schema.sql_insert(t, names)
	if #names == 0 then
		return format("INSERT INTO %s DEFAULT VALUES RETURNING *", t.q)
	end
	local marks = string.rep("?", #names, ", ")
	return format("INSERT INTO %s (%s) VALUES (%s) RETURNING *", t.q,
		columns_sql(t, names, ", ", ""), marks)
end

function schema.sql_update(t, names)
	return format("UPDATE %s SET %s WHERE %s = ?", t.q,
		columns_sql(t, names, ", ", " = ?"), t.columns[t.pk].q)
end

function schema.sql_incr(t, column)
	local q = t.columns[column].q
	return format("UPDATE %s SET %s = COALESCE(%s, 0) + ? WHERE %s = ? "
		.. "RETURNING %s", t.q, q, q, t.columns[t.pk].q, q)
end

function schema.sql_delete(t)
	return format("DELETE FROM %s WHERE %s = ?", t.q, t.columns[t.pk].q)
end

return schema
