-- db/migrate.lua: the application's schema, from its migration files:
-- plain SQL files in one directory, applied in name order (001_x.sql,
-- 002_y.sql, ...), each once, each in its own transaction, recorded in the
-- wisp_migrations table. A file that fails stops the start, and the
-- database keeps every migration before it.
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

local function apply(conn, dir, name, log)
	local sql = read_file(dir .. "/" .. name)
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
	log("applied migration " .. name)
end

-- Applies what dir holds that the database has not seen; returns how
-- many it applied.
function migrate.run(conn, dir, log)
	local done = applied_names(conn)
	local count = 0
	for _, name in ipairs(files.list(dir, ".sql")) do
		if not done[name] then
			apply(conn, dir, name, log)
			count = count + 1
		end
	end
	return count
end

return migrate
