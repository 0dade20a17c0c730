-- test_sqlite.lua: the wisp.sqlite module on a temporary file: opening
-- and its options, scripts, prepared statements and every value type
-- both ways, errors as values with their code names, statements reused
-- after an error, closing, one transaction of many inserts, and
-- statements run on the connection's worker thread (exec_async), with
-- the connection refused to everything else meanwhile.
local wisp = require "wisp"
local sqlite = require "wisp.sqlite"
local t = require "testing"

local path = os.tmpname()
local db

-- Each case starts on a fresh handler budget: all cases run in one task,
-- and the big ones take a while under the sanitizers.
local function case(name, fn)
	t.case(name, function()
		wisp.sleep(0)
		fn()
	end)
end

local function count(where)
	return db:prepare("SELECT count(*) AS n FROM " .. where):first().n
end

case("open, exec, prepare, run, rows, first, columns", function()
	t.ok(sqlite.version:match("^3%.%d+"), "version " .. sqlite.version)
	db = sqlite.open(path)
	db:exec([[
		CREATE TABLE player (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,
			level INTEGER NOT NULL DEFAULT 1 CHECK (level > 0), gold REAL);
		CREATE TABLE item (id INTEGER PRIMARY KEY,
			owner INTEGER REFERENCES player(id), kind TEXT);
		PRAGMA foreign_keys = ON;
	]])
	local insert = db:prepare("INSERT INTO player (name, level, gold) VALUES (?, ?, ?)")
	local changes, rowid = insert:run("ann", 3, 1.5)
	t.eq(changes, 1, "changes")
	t.eq(rowid, 1, "rowid")
	changes, rowid = insert:run("bob", 7)
	t.eq(rowid, 2, "second rowid")
	t.eq(db:changes(), 1, "db:changes")
	t.eq(db:last_insert_rowid(), 2, "db:last_insert_rowid")

	local select = db:prepare("SELECT id, name, level, gold FROM player ORDER BY id")
	local rows = select:rows()
	t.eq(#rows, 2, "rows")
	t.eq(rows[1].name, "ann")
	t.eq(rows[1].gold, 1.5)
	t.eq(rows[2].level, 7)
	t.eq(rows[2].gold, nil, "a NULL column is absent")
	local cols = select:columns()
	t.eq(table.concat(cols, ","), "id,name,level,gold", "columns")

	local by_name = db:prepare("SELECT id, level FROM player WHERE name = ?")
	t.eq(by_name:first("bob").id, 2)
	t.eq(by_name:first("bob").level, 7, "first again")
	local none = table.pack(by_name:first("nobody"))
	t.eq(none.n, 1, "no row: one value")
	t.eq(none[1], nil, "no row")
	t.eq(#db:prepare("SELECT * FROM player WHERE id < 0"):rows(), 0, "no rows")

	local update = db:prepare("UPDATE player SET level = level + 1")
	t.eq(update:run(), 2, "changes of an update")
	t.eq(#db:prepare("SELECT 1 AS x; -- a comment"):rows(), 1,
		"a trailing comment is no second statement")
end)

case("WAL and the other options", function()
	t.eq(db:prepare("PRAGMA journal_mode"):first().journal_mode, "wal")
	t.eq(db:prepare("PRAGMA synchronous"):first().synchronous, 1, "normal")
	t.eq(db:prepare("PRAGMA busy_timeout"):first().timeout, 5000)

	local other = sqlite.open(path, { synchronous = "full", busy_timeout = 250 })
	t.eq(other:prepare("PRAGMA synchronous"):first().synchronous, 2, "full")
	t.eq(other:prepare("PRAGMA busy_timeout"):first().timeout, 250)
	other:close()

	local ro = sqlite.open(path, { readonly = true, synchronous = "off" })
	t.eq(ro:prepare("SELECT count(*) AS n FROM player"):first().n, 2, "read only reads")
	local ok, msg, code = ro:prepare("DELETE FROM player"):run()
	t.eq(ok, nil, "read only writes")
	t.ok(msg:find("readonly"), msg)
	t.eq(code, "READONLY")
	ro:close()

	local plain_path = os.tmpname()
	local plain = sqlite.open(plain_path, { wal = false })
	t.eq(plain:prepare("PRAGMA journal_mode"):first().journal_mode, "delete", "wal = false")
	plain:close()
	os.remove(plain_path)

	t.raises("^sqlite: cannot open /nonexistent/dir/x%.db: unable to open",
		sqlite.open, "/nonexistent/dir/x.db")
	t.raises("synchronous must be", sqlite.open, path, { synchronous = "fast" })
	t.raises("busy_timeout must be", sqlite.open, path, { busy_timeout = "soon" })
	local junk_path = os.tmpname()
	local f = assert(io.open(junk_path, "w"))
	f:write(string.rep("not a database ", 100))
	f:close()
	t.raises("^sqlite: cannot open .*: file is not a database", sqlite.open, junk_path)
	os.remove(junk_path)
end)

case("every type goes in and comes back", function()
	db:exec("CREATE TABLE v (k INTEGER PRIMARY KEY, any, r REAL, i INTEGER, s TEXT, b BLOB)")
	local put = db:prepare("INSERT INTO v (k, any, r, i, s, b) VALUES (?, ?, ?, ?, ?, ?)")
	local get = db:prepare("SELECT any, r, i, s, b FROM v WHERE k = ?")
	local function back(k)
		return get:first(k)
	end
	local function same(v, what)
		local k = select(2, assert(put:run(nil, v)))
		local got = back(k).any
		t.eq(got, v, what)
		t.eq(math.type(got), math.type(v), what .. " (number type)")
	end
	same(math.maxinteger, "int64 max")
	same(math.mininteger, "int64 min")
	same(0, "zero")
	same(-1, "minus one")
	same(2.0, "2.0 stays a float")
	same(0.1, "0.1")
	same(-1.5e300, "a big float")
	same(math.huge, "inf")
	same("", "empty string")
	same("it's \"quoted\" -- ; DROP TABLE v", "quotes")
	same("a\0b\0\0c\0", "NULs")
	same("\xff\xfe not utf-8 \x80", "arbitrary bytes")
	local big = {}
	for i = 1, 1024 do
		big[i] = string.rep(string.char(i % 256), 1023) .. "\0"
	end
	same(table.concat(big), "1 MB")

	local k = select(2, assert(put:run(nil, true, 2.0, 2.0, 42, "x")))
	local row = back(k)
	t.eq(row.any, 1, "true")
	t.eq(row.r, 2.0, "REAL column")
	t.eq(math.type(row.r), "float", "2.0 in a REAL column stays a float")
	t.eq(math.type(row.i), "integer", "2.0 in an INTEGER column becomes an integer")
	t.eq(row.s, "42", "TEXT affinity")
	t.eq(row.b, "x", "text in a BLOB column")
	k = select(2, assert(put:run(nil, false)))
	t.eq(back(k).any, 0, "false")
	k = select(2, assert(put:run(nil, nil, nil, nil, nil, nil)))
	t.eq(next(back(k)), nil, "all NULL: an empty row")
	local blob = db:prepare("SELECT X'00FF10' AS b, X'' AS e, CAST(X'610062' AS TEXT) AS c"):first()
	t.eq(blob.b, "\0\xff\x10", "a blob")
	t.eq(blob.e, "", "an empty blob")
	t.eq(blob.c, "a\0b", "a text with a NUL")
	t.ok(db:prepare("SELECT k FROM v WHERE any = ?"):first("a\0b\0\0c\0"),
		"a string with NULs matches itself")
end)

case("arguments: extra raise, missing are NULL, bad types raise", function()
	local put = db:prepare("INSERT INTO v (k, any, s) VALUES (?, ?, ?)")
	t.raises("^sqlite: 4 arguments for 3 parameters", put.run, put, 1, 2, 3, 4)
	t.raises("^sqlite: 1 arguments for 0 parameters", put.run,
		db:prepare("SELECT 1"), 1)
	t.raises("^sqlite: cannot bind a table to parameter 2", put.run, put, 1000, {})
	t.raises("cannot bind a function", put.rows, put, 1000, 1, print)
	t.eq(put:run(1000, "only two"), 1, "statement fine after raising")
	local row = db:prepare("SELECT any, s FROM v WHERE k = 1000"):first()
	t.eq(row.any, "only two")
	t.eq(row.s, nil, "a missing argument is NULL, not the last call's")
	local named = db:prepare("SELECT :a AS a, ?2 AS b, $c AS c")
	row = named:first(1, "two", 3.0)
	t.eq(row.a, 1)
	t.eq(row.b, "two")
	t.eq(row.c, 3.0)
end)

case("constraint and other errors come back with code names", function()
	local insert = db:prepare("INSERT INTO player (id, name, level) VALUES (?, ?, ?)")
	local function fails(code, pattern, ...)
		local ok, msg, name = insert:run(...)
		t.eq(ok, nil, code)
		t.ok(msg:find(pattern), msg .. " matches " .. pattern)
		t.eq(name, code)
	end
	fails("CONSTRAINT_UNIQUE", "^UNIQUE constraint failed: player%.name$", nil, "ann", 1)
	fails("CONSTRAINT_PRIMARYKEY", "UNIQUE constraint failed: player%.id", 1, "new", 1)
	fails("CONSTRAINT_NOTNULL", "NOT NULL constraint failed: player%.name", nil, nil, 1)
	fails("CONSTRAINT_CHECK", "CHECK constraint failed", nil, "low", 0)
	fails("MISMATCH", "datatype mismatch", "x", "mis", 1)
	local item = db:prepare("INSERT INTO item (owner, kind) VALUES (?, ?)")
	local ok, msg, code = item:run(999, "sword")
	t.eq(ok, nil)
	t.eq(msg, "FOREIGN KEY constraint failed")
	t.eq(code, "CONSTRAINT_FOREIGNKEY")
	db:exec([[CREATE TRIGGER no_admin BEFORE INSERT ON player WHEN NEW.name = 'admin'
		BEGIN SELECT RAISE(ABORT, 'no admin'); END]])
	fails("CONSTRAINT", "^no admin$", nil, "admin", 1)

	-- the statement is usable again after each failure
	local _, rowid = insert:run(nil, "cat", 2)
	t.ok(rowid > 2, "insert after errors")
	t.eq(db:prepare("SELECT name FROM player WHERE id = ?"):first(rowid).name, "cat")

	-- errors while reading: rows and first
	db:exec("CREATE TABLE doc (id INTEGER PRIMARY KEY, body TEXT)")
	local add = db:prepare("INSERT INTO doc (body) VALUES (?)")
	add:run('{"a":1}')
	add:run('{"a":2}')
	add:run("{broken")
	local parse = db:prepare("SELECT json_extract(body, '$.a') AS a FROM doc WHERE id <= ? ORDER BY id")
	local rows, err, name = parse:rows(3)
	t.eq(rows, nil, "rows fails")
	t.ok(err:find("malformed JSON"), err)
	t.eq(name, "ERROR")
	t.eq(#parse:rows(2), 2, "rows after an error")
	local first = db:prepare("SELECT json_extract(body, '$.a') AS a FROM doc WHERE id = ?")
	local row
	row, err, name = first:first(3)
	t.eq(row, nil, "first fails")
	t.ok(err:find("malformed JSON"), err)
	t.eq(name, "ERROR")
	t.eq(first:first(2).a, 2, "first after an error")
	local returning = db:prepare("INSERT INTO player (name) VALUES (?) RETURNING id, name")
	t.eq(returning:first("dan").name, "dan", "RETURNING through first")
	row, err, name = returning:first("dan")
	t.eq(row, nil)
	t.eq(name, "CONSTRAINT_UNIQUE", err)
end)

case("errors that raise: exec and prepare", function()
	t.raises("^sqlite: no such table: missing$", db.exec, db, "DELETE FROM missing")
	t.raises('^sqlite: near "SELEC": syntax error %(in: SELEC 1%)$',
		db.prepare, db, "SELEC 1")
	t.raises("^sqlite: no such column: nope %(in: SELECT nope FROM player%)$",
		db.prepare, db, "SELECT nope FROM player")
	t.raises("^sqlite: more than one statement", db.prepare, db, "SELECT 1; SELECT 2")
	t.raises("^sqlite: no statement", db.prepare, db, "  -- nothing ")
	-- a failed script leaves the open transaction for the caller to end
	t.raises("UNIQUE constraint failed", db.exec, db,
		"BEGIN; INSERT INTO player (name) VALUES ('eve'); INSERT INTO player (name) VALUES ('eve');")
	db:exec("ROLLBACK")
	t.eq(count("player WHERE name = 'eve'"), 0, "rolled back")
end)

case("a transaction of 10,000 inserts through one statement", function()
	db:exec("CREATE TABLE bulk (id INTEGER PRIMARY KEY, n INTEGER, tag TEXT)")
	local insert = db:prepare("INSERT INTO bulk (n, tag) VALUES (?, ?)")
	db:exec("BEGIN")
	for i = 1, 10000 do
		local changes = insert:run(i, "tag" .. i % 7)
		if changes ~= 1 then
			error("insert " .. i .. " failed")
		end
	end
	db:exec("COMMIT")
	t.eq(count("bulk"), 10000)
	local sums = db:prepare("SELECT sum(n) AS total, count(DISTINCT tag) AS tags FROM bulk"):first()
	t.eq(sums.total, 10000 * 10001 // 2)
	t.eq(sums.tags, 7)
	t.eq(#db:prepare("SELECT * FROM bulk WHERE tag = ?"):rows("tag3"), 1429)
end)

case("a call cut short by a memory error leaves no statement running", function()
	db:exec("CREATE TABLE copy (id INTEGER PRIMARY KEY, line TEXT)")
	local copy = db:prepare("INSERT INTO copy (line) SELECT tag || ? FROM bulk RETURNING id, line")
	db:exec("BEGIN")
	collectgarbage()
	wisp.memory_limit(math.floor(collectgarbage("count") * 1024) + 256 * 1024)
	local ok, err = pcall(copy.rows, copy, string.rep("x", 100))
	wisp.memory_limit(0)
	t.eq(ok, false, "rows raised")
	t.ok(tostring(err):find("not enough memory"), tostring(err))
	db:exec("COMMIT") -- refused if the insert were still running
	t.eq(count("copy"), 10000)
	local rows = copy:rows("y")
	t.eq(#rows, 10000, "the statement runs again")
	t.eq(rows[1].line, "tag1y", "with its new argument")
end)

case("statements are collected, before or with their db", function()
	for _ = 1, 100 do
		db:prepare("SELECT count(*) FROM bulk"):first()
	end
	collectgarbage()
	collectgarbage()
	t.eq(count("bulk"), 10000, "db fine after its statements went")
	local other = sqlite.open(path)
	local stmts = {}
	for i = 1, 10 do
		stmts[i] = other:prepare("SELECT ? AS v")
	end
	other, stmts = nil, nil
	collectgarbage()
	collectgarbage()
end)

-- exec_async's sql runs on the worker; the done event comes as a socket
-- message, which this test's own dispatch waits for.
local done_waiter
wisp.dispatch("socket", function(event, id)
	if event == sqlite.DONE and done_waiter then
		local task = done_waiter
		done_waiter = nil
		wisp.wakeup(task, id)
	end
end)

local function await_done(conn)
	done_waiter = coroutine.running()
	repeat
		wisp.wait()
	until not conn:busy()
	return conn:exec_result()
end

case("exec_async: the worker runs it, nothing else touches the db", function()
	local stmt = db:prepare("SELECT count(*) AS n FROM player")
	db:exec("BEGIN")
	db:prepare("INSERT INTO player (name) VALUES ('async')"):run()
	local id = db:exec_async("COMMIT")
	t.ok(math.type(id) == "integer", "a connection id")
	t.eq(db:busy(), true, "busy while the worker runs it")
	local refused = "^sqlite: the connection is busy with a statement on its "
		.. "worker thread"
	t.raises(refused, db.exec, db, "SELECT 1")
	t.raises(refused, db.prepare, db, "SELECT 1")
	t.raises(refused, stmt.first, stmt)
	t.raises(refused, db.exec_async, db, "SELECT 1")
	t.eq(await_done(db), true, "committed")
	t.eq(db:busy(), false, "idle again")
	t.eq(count("player WHERE name = 'async'"), 1, "the row is committed")
	local ok, err, code = (function()
		db:exec_async("INSERT INTO player (name) VALUES ('async')")
		return await_done(db)
	end)()
	t.eq(ok, nil, "a failure on the worker")
	t.ok(err:find("^sqlite: UNIQUE constraint failed"), err)
	t.eq(code, "CONSTRAINT_UNIQUE", "its code name")
	t.raises("statement too long", db.exec_async, db, string.rep(" ", 300))
end)

case("checkpoint = \"caller\": the WAL waits for the caller", function()
	t.raises("checkpoint must be", sqlite.open, path, { checkpoint = "later" })
	local own_path = os.tmpname()
	local c = sqlite.open(own_path, { checkpoint = "caller" })
	c:exec("CREATE TABLE big (body BLOB)")
	local insert = c:prepare("INSERT INTO big (body) VALUES (?)")
	local body = string.rep("x", 4000)
	for _ = 1, 1200 do -- past sqlite's own 1000 pages, in commits of one
		insert:run(body)
	end
	local pages = c:wal_pages()
	t.ok(pages > 1000, "the WAL grew past 1000 pages: " .. pages)
	c:exec_async("PRAGMA wal_checkpoint(PASSIVE)")
	t.eq(await_done(c), true, "checkpointed on the worker")
	insert:run(body)
	t.ok(c:wal_pages() < 10, "the next commit started the WAL again: "
		.. c:wal_pages())
	c:close()
	for _, suffix in ipairs({ "", "-wal", "-shm" }) do
		os.remove(own_path .. suffix)
	end
end)

case("a connection closed while its worker runs waits for it", function()
	local c = sqlite.open(path)
	c:exec("BEGIN")
	c:prepare("INSERT INTO player (name) VALUES ('closing')"):run()
	c:exec_async("COMMIT")
	c:close()
	t.eq(count("player WHERE name = 'closing'"), 1, "the commit was made")
end)

case("a closed db and its statements raise", function()
	local stmt = db:prepare("SELECT count(*) AS n FROM player")
	local kept = db:prepare("SELECT 1")
	kept:first()
	db:close()
	db:close() -- closing again does nothing
	t.raises("^sqlite: database is closed$", db.exec, db, "SELECT 1")
	t.raises("^sqlite: database is closed$", db.prepare, db, "SELECT 1")
	t.raises("^sqlite: database is closed$", db.changes, db)
	t.raises("^sqlite: database is closed$", db.last_insert_rowid, db)
	t.raises("^sqlite: database is closed$", stmt.run, stmt)
	t.raises("^sqlite: database is closed$", stmt.rows, stmt)
	t.raises("^sqlite: database is closed$", stmt.first, stmt)
	t.raises("^sqlite: database is closed$", kept.columns, kept)
	db, stmt, kept = nil, nil, nil
	collectgarbage()
	collectgarbage()
end)

-- Last, whatever failed before: the files go.
t.case("remove the files", function()
	if db then
		db:close()
	end
	collectgarbage()
	for _, suffix in ipairs({ "", "-wal", "-shm" }) do
		os.remove(path .. suffix)
	end
	t.eq(io.open(path), nil, "removed")
end)

t.run()
