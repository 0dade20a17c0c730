-- dbtest.lua: what the game scripts of the db test share: the payload
-- rows (quotes, NULs, 1 MB) that api.lua writes and restart.lua reads
-- back, the check of an error's text, and the bounded waits for the
-- driver's moves and for the db node.
local wisp = require "wisp"
local t = require "testing"

local dbtest = {}

local MB = 1024 * 1024

-- Every byte value, quotes of both kinds, SQL comment and string syntax.
local function odd_text()
	local bytes = {}
	for b = 0, 255 do
		bytes[#bytes + 1] = string.char(b)
	end
	return "it's \"quoted\"; '' \\ \0 nul\0\0 ]] -- /* x */ "
		.. table.concat(bytes) .. "\0"
end

-- 1 MB that compresses well: memcached can hold it.
local function patterned()
	local unit = "row\0'\"\\" .. string.rep("abcdefgh", 7) .. "\0;--" -- 64 B
	return string.rep(unit, MB // #unit)
end

-- 1 MB of pseudo-random bytes (xorshift32, fixed seed): it does not
-- compress, so it is too large for memcached's 1 MB items and must come
-- from sqlite.
local function noise()
	local parts, x = {}, 2463534242
	for i = 1, MB // 4 do
		x = x ~ (x << 13) & 0xffffffff
		x = x ~ (x >> 17)
		x = x ~ (x << 5) & 0xffffffff
		parts[i] = string.pack("<I4", x)
	end
	return table.concat(parts)
end

-- The rows of the payload table, by id.
function dbtest.payloads()
	local text = odd_text()
	return {
		quotes = { id = "quotes", body = text, note = text },
		empty = { id = "empty", body = "", note = "" },
		patterned = { id = "patterned", body = patterned(), note = "big" },
		noise = { id = "noise", body = noise(), note = text },
	}
end

-- The payload ids in a fixed order.
dbtest.payload_ids = { "quotes", "empty", "patterned", "noise" }

-- A value in a failure message: strings by their size (they may be 1 MB).
local function brief(v)
	if type(v) == "string" then
		return #v .. " bytes"
	end
	return tostring(v)
end

-- Raises unless the row got holds every field of want, naming the first
-- field that differs.
function dbtest.same_row(got, want, what)
	t.ok(type(got) == "table", what .. ": a row, got " .. type(got))
	for k, v in pairs(want) do
		if got[k] ~= v then
			error(string.format("%s: field %s is %s, want %s", what, k,
				brief(got[k]), brief(v)), 2)
		end
	end
end

-- fn(...) must raise an error holding text (plainly) and starting its
-- message with "db: " (after the position the library adds).
function dbtest.fails(text, fn, ...)
	local ok, err = pcall(fn, ...)
	if ok then
		error("no error raised; want one with '" .. text .. "'", 2)
	end
	err = tostring(err)
	if not err:find(text, 1, true) then
		error(string.format("error %q does not say '%s'", err, text), 2)
	end
	if not (err:find("^db: ") or err:find("^.-:%d+: db: ")) then
		error(string.format("error %q does not start with 'db: '", err), 2)
	end
	return err
end

-- Logs marker for the driver, then waits up to ms for its answer: the
-- file name in the directory the config's env calls "gate".
function dbtest.ask_driver(marker, name, ms)
	local path = wisp.getenv("gate") .. "/" .. name
	wisp.log(marker)
	t.wait_for("the driver's " .. path, ms, function()
		local f = io.open(path)
		return f and f:close()
	end)
end

-- Waits up to ms for the db node to answer. Each try has a short timeout
-- of its own: a db node whose link to this node's previous process was
-- lost a moment ago drops its first answers to this one (its harbor waits
-- out a dial backoff), and those calls would otherwise wait for the whole
-- call_timeout.
function dbtest.wait_db(ms)
	t.wait_for("the db node", ms, function()
		return pcall(wisp.call_timeout, 500, "db@db", "stats")
	end)
end

-- Which cache the db node uses: "memory" or "memcached".
function dbtest.cache_kind()
	return wisp.getenv("cache")
end

return dbtest
