-- db/migrate.lua: the application's schema, from its migration files:
-- plain SQL files in one directory, applied in name order (001_x.sql,
-- 002_y.sql, ...), each once, each in its own transaction, recorded in the
-- wisp_migrations table. A file that fails stops the start, and the
-- database keeps every migration before it. On PostgreSQL, NAME.pg.sql
-- beside NAME.sql is applied in its place (and recorded as NAME.sql);
-- sqlite skips the .pg.sql files.
local files = require "wisp.db.files"

local migrate = {}

local function read_file(path)
	local f, err = io.open(path, "rb")
	if not f then
		error("db: cannot read the migration " .. path .. ": " .. err, 0)
	end
	local sql = f:read("a")
	f:close()
	return sql
end

local function applied_names(conn)
	conn:exec([[CREATE TABLE IF NOT EXISTS wisp_migrations (
		name TEXT PRIMARY KEY, applied_at INTEGER NOT NULL)]])
	local done = {}
	for _, row in ipairs(assert(conn:prepare(
		"SELECT name FROM wisp_migrations"):rows())) do
		done[row.name] = true
	end
	return done
end

local function apply(conn, dir, name, file, log)
	local sql = read_file(dir .. "/" .. file)
	local record = conn:prepare(
		"INSERT INTO wisp_migrations (name, applied_at) VALUES (?, ?)")
	conn:exec("BEGIN")
	local ok, err = pcall(conn.exec, conn, sql)
	if ok then
		ok, err = record:run(name, os.time())
	end
	if not ok then
		conn:exec("ROLLBACK")
		error(string.format("db: migration %s failed: %s", name, err), 0)
	end
	conn:exec("COMMIT")
	log("applied migration " .. file)
end

-- { NAME.sql = the file to apply for it }, in name order, for backend
-- ("sqlite" or "postgres").
local function plan(dir, backend)
	local names, files_of = {}, {}
	for _, file in ipairs(files.list(dir, ".sql")) do
		local base = file:match("^(.*)%.pg%.sql$")
		local name = base and base .. ".sql" or file
		if base == nil or backend == "postgres" then
			if not files_of[name] then
				names[#names + 1] = name
			end
			if base or not files_of[name] then
				files_of[name] = file
			end
		end
	end
	table.sort(names)
	return names, files_of
end

local function run_plan(conn, dir, log, backend)
	local done = applied_names(conn)
	local count = 0
	local names, files_of = plan(dir, backend)
	for _, name in ipairs(names) do
		if not done[name] then
			apply(conn, dir, name, files_of[name], log)
			count = count + 1
		end
	end
	return count
end

-- Several db nodes share one PostgreSQL database (each owning its
-- tables): one of them migrates at a time, the others then find it done.
local MIGRATION_LOCK = 0x77697370 -- "wisp"

-- Applies what dir holds that the database has not seen; returns how
-- many it applied.
function migrate.run(conn, dir, log, backend)
	backend = backend or "sqlite"
	if backend ~= "postgres" then
		return run_plan(conn, dir, log, backend)
	end
	conn:exec("SELECT pg_advisory_lock(" .. MIGRATION_LOCK .. ")")
	local ok, count = pcall(run_plan, conn, dir, log, backend)
	conn:exec("SELECT pg_advisory_unlock(" .. MIGRATION_LOCK .. ")")
	if not ok then
		error(count, 0)
	end
	return count
end

return migrate
