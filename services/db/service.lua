-- db/service.lua: the db service, which every node with the db role runs
-- (as the local name "db"). It owns one sqlite3 database (WAL, prepared
-- statements only), applies the application's migrations at start, caches
-- rows in memcached or in process, and commits writes in groups, answering
-- each write only once it is committed. Game services reach it through
-- the wisp.db library (services/lualib/wisp/db.lua). On the node's stop it
-- commits what is open, then exits.
local wisp = require "wisp"
local sqlite = require "wisp.sqlite"
local settings = require "wisp.db.settings"
local migrate = require "db.migrate"
local schema = require "db.schema"
local lru = require "db.lru"
local mcache = require "db.mcache"
local writer = require "db.writer"
local store = require "db.store"

local conn, db, commits
local pack = wisp.pack

-- A counter in the database for the memcached key namespace (db.mcache).
local function next_generation()
	conn:exec([[CREATE TABLE IF NOT EXISTS wisp_meta (
		key TEXT PRIMARY KEY, value INTEGER NOT NULL)]])
	local row = conn:prepare([[INSERT INTO wisp_meta (key, value)
		VALUES ('cache_generation', 1) ON CONFLICT (key)
		DO UPDATE SET value = value + 1 RETURNING value]]):first()
	return row.value
end

local function make_cache(cfg)
	if cfg.memcached then
		return mcache.new(cfg.memcached, next_generation)
	end
	return lru.new(cfg.cache_size)
end

-- After a commit the cache gets the rows as committed; after a rollback it
-- forgets them, since what it held may be what was rolled back. If that
-- fails midway, the whole cache is forgotten: a stale row is never read.
local function cache_writes(cache)
	local function update(touched)
		for t, rows in pairs(touched) do
			local stale = {}
			for pk, row in pairs(rows) do
				if row then
					cache:set(t, pk, pack(row))
				else
					stale[#stale + 1] = pk
				end
			end
			cache:delete_many(t, stale)
		end
	end
	local function on_commit(touched)
		local ok, err = pcall(update, touched)
		if not ok then
			cache:forget_all()
			error(err, 0)
		end
	end
	local function on_abort(touched)
		for t, rows in pairs(touched) do
			for pk in pairs(rows) do
				cache:delete(t, pk)
			end
		end
	end
	return on_commit, on_abort
end

local function open(cfg)
	conn = sqlite.open(cfg.file, { wal = true, synchronous = cfg.synchronous })
	if cfg.migrations then
		migrate.run(conn, cfg.migrations, wisp.log)
	end
	local tables = schema.load(conn)
	local cache = make_cache(cfg)
	commits = writer.new(conn, cfg.batch, cache_writes(cache))
	local static = {}
	for _, name in ipairs(cfg.static or {}) do
		if not tables[name] then
			error("db: db.static names the table " .. name
				.. ", which the database does not have", 0)
		end
		static[name] = true
	end
	db = store.open(conn, tables, cache, commits, static)
	local count = 0
	for _ in pairs(tables) do
		count = count + 1
	end
	wisp.log(string.format("db %s open: %d tables, cache in %s", cfg.file,
		count, cfg.memcached and "memcached" or "memory"))
end

local ops = {
	declare = function(...) return db:declare(...) end,
	get = function(...) -- answered packed, as cached
		local packed = db:get(...)
		if packed then
			wisp.ret_packed(packed)
		end
	end,
	get_many = function(...) return db:get_many(...) end,
	by_fk = function(...) return db:by_fk(...) end,
	range = function(...) return db:range(...) end,
	new = function(...) return db:new(...) end,
	update = function(...) return db:update(...) end,
	delete = function(...) return db:delete(...) end,
	incr = function(...) return db:incr(...) end,
	static = function(...) return db:static_table(...) end,
	reload = function(...) return db:reload(...) end,
	stats = function()
		return { cache = db.cache:stats(), commits = commits.commits,
			rows = commits.rows, commit_us = commits.commit_us }
	end,
}

-- A request's own mistake (a "db: " error: an unknown column, a broken
-- constraint) goes back to the caller without filling the log; anything
-- else is a fault here, raised to be logged with its traceback.
local function serve(_, op, ...)
	local f = ops[op]
	if not f then
		wisp.response()(false, "db: unknown operation '" .. tostring(op) .. "'")
		return
	end
	local ok, result = pcall(f, ...)
	if ok then
		return result
	end
	if type(result) ~= "string" or result:sub(1, 4) ~= "db: " then
		error(result, 0)
	end
	wisp.response()(false, result)
end

wisp.start(function()
	open(settings) -- raising here fails the start, and so the node
	wisp.register("db")
	wisp.dispatch("lua", serve)
	wisp.dispatch("exit", function()
		commits:commit()
		conn:close()
		wisp.exit()
	end)
end)
