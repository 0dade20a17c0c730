-- db/service.lua: the db service, which every node with the db role runs
-- (as the local name "db"). It owns one sqlite3 database (WAL, prepared
-- statements only) or a PostgreSQL connection (db.pg), applies the
-- application's migrations at start, caches rows in memcached or in
-- process, and commits writes in groups, answering each write only once
-- it is committed. Game services reach it through the wisp.db library
-- (services/lualib/wisp/db.lua). On the node's stop it commits what is
-- open, then exits.
local wisp = require "wisp"
local cluster = require "wisp.cluster"
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
	if commits then -- memcached came back: not while a commit runs
		commits:idle()
	end
	conn:exec([[CREATE TABLE IF NOT EXISTS wisp_meta (
		key TEXT PRIMARY KEY, value INTEGER NOT NULL)]])
	local row = conn:prepare([[INSERT INTO wisp_meta (key, value)
		VALUES ('cache_generation', 1) ON CONFLICT (key)
		DO UPDATE SET value = wisp_meta.value + 1 RETURNING value]]):first()
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

-- What this node owns, for its log: the tables its db.tables lists, or
-- every table no db node lists.
local function owned_text(cfg)
	if cfg.default_owner == cluster.self() then
		return next(cfg.owners) and "every table no db.tables lists"
			or "every table"
	end
	local mine = {}
	for t, node in pairs(cfg.owners) do
		if node == cluster.self() then
			mine[#mine + 1] = t
		end
	end
	table.sort(mine)
	return table.concat(mine, ", ")
end

-- The connection, the name of its kind, how its tables are read and
-- the writer's hooks (on sqlite, what fsyncs runs on the connection's
-- worker thread: db.sqlite_async).
local function connect(cfg)
	if cfg.postgres then
		local pg = require "db.pg"
		return pg.open(cfg.postgres.conninfo), "postgres", schema.load_pg
	end
	return sqlite.open(cfg.file, { wal = true, checkpoint = "caller",
		synchronous = cfg.synchronous }), "sqlite", schema.load,
		require("db.sqlite_async").hooks(cfg.synchronous)
end

local function open(cfg)
	local backend, load, hooks
	conn, backend, load, hooks = connect(cfg)
	if cfg.migrations then
		migrate.run(conn, cfg.migrations, wisp.log, backend)
	end
	local tables = load(conn)
	local cache = make_cache(cfg)
	local on_commit, on_abort = cache_writes(cache)
	commits = writer.new(conn, cfg.batch, on_commit, on_abort, hooks)
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
	wisp.log(string.format("db %s open: %d tables, cache in %s; owns %s",
		cfg.file or "postgres", count,
		cfg.memcached and "memcached" or "memory", owned_text(cfg)))
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
			rows = commits.rows, commit_us = commits.commit_us,
			checkpoints = commits.checkpoints }
	end,
}

-- The node that owns table name (config_db.c): nil if none does.
local function owner_of(name)
	return settings.owners[name] or settings.default_owner
end

-- A request for a table another db node owns (a game node on an old
-- config asked here, say) goes there once: its answer, or its error.
local function forward(node, op, name, ...)
	local ok, result = pcall(wisp.call, cluster.address("db", node),
		"forwarded", op, name, ...)
	if ok then
		return result
	end
	local reason = tostring(result):match("(db: .*)$")
	error(reason or string.format("db: table %s is owned by node %s, which "
		.. "did not answer: %s", name, node, tostring(result)), 0)
end

-- Where op on table name is served: here (nil), or the owner's node.
local function route(op, name, forwarded)
	if op == "stats" or type(name) ~= "string" then
		return nil
	end
	local node = owner_of(name)
	if node == nil then
		error("db: no db node owns the table " .. name
			.. ": list it in the db.tables of one", 0)
	end
	if node == cluster.self() then
		return nil
	end
	if forwarded then -- never twice: the two nodes' configs disagree
		error(string.format("db: table %s was forwarded here, but node %s "
			.. "owns it: do the db nodes run one config?", name, node), 0)
	end
	return node
end

local function run(op, forwarded, name, ...)
	local f = ops[op]
	if not f then
		error("db: unknown operation '" .. tostring(op) .. "'", 0)
	end
	local node = route(op, name, forwarded)
	if node then
		return forward(node, op, name, ...)
	end
	return f(name, ...)
end

-- A request's own mistake (a "db: " error: an unknown column, a broken
-- constraint) goes back to the caller without filling the log; anything
-- else is a fault here, raised to be logged with its traceback.
local function run_forwarded(op, ...)
	return run(op, true, ...)
end

local function serve(_, op, ...)
	local ok, result
	if op == "forwarded" then
		ok, result = pcall(run_forwarded, ...)
	else
		ok, result = pcall(run, op, false, ...)
	end
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
		commits:drain()
		conn:close()
		wisp.exit()
	end)
end)
