-- test_memcached.lua: wisp.memcached against a real memcached, run by
-- test/integration/test_memcached.c: WISP_MEMCACHED is its "host:port",
-- WISP_MEMCACHED_DEAD an address nothing listens on, WISP_MEMCACHED_LOG
-- its -vv log. Every call in both protocols, misses, cas conflicts,
-- compression, limits, bad keys, and servers that hang, die and come
-- back: the driver stops, resumes, kills and restarts memcached when this
-- script logs "memcached-driver: <what>", and the cases poll until they
-- see the effect.
local wisp = require "wisp"
local socket = require "wisp.socket"
local memcached = require "wisp.memcached"
local t = require "testing"

local ADDR = assert(os.getenv("WISP_MEMCACHED"), "set WISP_MEMCACHED")
local DEAD = assert(os.getenv("WISP_MEMCACHED_DEAD"), "set WISP_MEMCACHED_DEAD")
local LOG = os.getenv("WISP_MEMCACHED_LOG")
local HOST, PORT = ADDR:match("^(.*):(%d+)$")
PORT = tonumber(PORT)
local ZSTD = 1 << 16 -- the flag of compressed values

-- The node's handler budget is 300 ms of CPU per resume (node.lua), and
-- these cases move megabytes: they yield between heavy steps, and each
-- starts on a fresh budget.
local function breathe()
	wisp.sleep(1)
end

local function case(name, fn)
	t.case(name, function()
		breathe()
		fn()
	end)
end

local function client(opts)
	opts = opts or {}
	opts.servers = opts.servers or { ADDR }
	return memcached.new(opts)
end

-- memcached's text protocol on a plain socket, to see what is stored and
-- to store what the client never would.
local function raw(command)
	local id = assert(socket.connect(HOST, PORT))
	assert(socket.write(id, command))
	return id
end

local function raw_get(key)
	local id = raw("get " .. key .. "\r\n")
	local line = assert(socket.readline(id, "\r\n"))
	local value, flags
	if line ~= "END" then
		local f, n = line:match("^VALUE %S+ (%d+) (%d+)$")
		assert(f, line)
		value = assert(socket.read(id, tonumber(n) + 2)):sub(1, -3)
		flags = tonumber(f)
		t.eq(socket.readline(id, "\r\n"), "END")
	end
	socket.close(id)
	return value, flags
end

local function raw_set(key, flags, data)
	local id = raw(string.format("set %s %d 0 %d\r\n%s\r\n", key, flags,
		#data, data))
	t.eq(socket.readline(id, "\r\n"), "STORED", "raw set")
	socket.close(id)
end

local function raw_stat(name)
	local id = raw("stats\r\n")
	local value
	while true do
		local line = assert(socket.readline(id, "\r\n"))
		if line == "END" then
			break
		end
		value = value or line:match("^STAT " .. name .. " (%d+)$")
	end
	socket.close(id)
	return tonumber(value)
end

-- n bytes that do not compress (xorshift64), made once.
local noises = {}
local function noise(n, seed)
	local key = n .. ":" .. tostring(seed)
	if noises[key] then
		return noises[key]
	end
	local x, parts = seed or 88172645463325252, {}
	for i = 1, (n + 7) // 8 do
		if i % 16384 == 0 then
			breathe()
		end
		x = x ~ (x << 13)
		x = x ~ (x >> 7)
		x = x ~ (x << 17)
		parts[i] = string.pack("<i8", x)
	end
	noises[key] = table.concat(parts):sub(1, n)
	return noises[key]
end

local ROW = string.rep("name=wisp level=42 gold=1000000 ", 6400) -- 200 KB

local function all_bytes()
	local b = {}
	for i = 0, 255 do
		b[#b + 1] = string.char(i)
	end
	return table.concat(b)
end

case("new checks its options and does not connect", function()
	for _, bad in ipairs { "x:", "host:99999", "host:0", "a b:1", "", ":11211",
		"[::1", "[::1]x", "host:12ab" } do
		t.raises("^memcached: bad server address '" .. bad:gsub("%p", "%%%0")
			.. "'$", memcached.new, { servers = { ADDR, bad } })
	end
	t.raises("bad server address 'number'", memcached.new, { servers = { 11211 } })
	t.raises("memcached: bad option servers", memcached.new, { servers = {} })
	t.raises("memcached: bad option servers", memcached.new, { servers = ADDR })
	t.raises("memcached: no servers given", memcached.new, {})
	t.raises("memcached: unknown option 'timout'", memcached.new,
		{ servers = { ADDR }, timout = 5 })
	t.raises("bad option timeout", client, { timeout = 0 })
	t.raises("bad option timeout", client, { timeout = "fast" })
	t.raises("bad option compress", client, { compress = -1 })
	t.raises("bad option binary", client, { binary = 1 })
	-- addresses of every form are taken, and nothing connects until a call
	local before = raw_stat("total_connections")
	local started = wisp.now()
	local mc = memcached.new { servers = { ADDR, DEAD, "[::1]:11211", "::1",
		"localhost", "no-such-host.invalid:1" }, timeout = 100, compress = 0,
		binary = true }
	t.ok(wisp.now() - started < 50, "new waits for nothing")
	mc:close()
	t.eq(raw_stat("total_connections"), before + 1, "only the stats query connected")
end)

for _, binary in ipairs { false, true } do
	local proto = binary and "binary" or "text"
	local p = proto .. ":"
	local function new(opts)
		opts = opts or {}
		opts.binary = binary
		return client(opts)
	end

	case(proto .. ": set, get, delete and misses", function()
		local mc = new()
		local k = p .. "row:1"
		t.eq(mc:set(k, "hello", 0), true)
		t.eq(mc:get(k), "hello")
		t.eq(mc:get(p .. "nothing"), false, "a miss")
		t.eq(select("#", mc:get(p .. "nothing")), 1, "a miss is one false")
		t.eq(mc:delete(k), true)
		t.eq(mc:get(k), false, "deleted")
		t.eq(mc:delete(k), false, "delete of a missing key")
		t.eq(mc:set(k, "again"), true, "ttl defaults to 0")
		t.eq(mc:set(k, "replaced", 60), true)
		t.eq(mc:get(k), "replaced")
		-- more than 30 days is still a ttl, not a date in 1970
		t.eq(mc:set(k, "long-lived", 40 * 24 * 3600), true)
		t.eq(mc:get(k), "long-lived")
		t.raises("ttl", mc.set, mc, k, "v", -1)
		mc:close()
	end)

	case(proto .. ": add stores only a new key", function()
		local mc = new()
		local k = p .. "add"
		mc:delete(k)
		t.eq(mc:add(k, "first", 0), true)
		t.eq(mc:add(k, "second", 0), false, "exists")
		t.eq(mc:get(k), "first")
	end)

	case(proto .. ": gets and cas", function()
		local mc, other = new(), new()
		local k = p .. "cas"
		t.eq(mc:set(k, "v1"), true)
		local v, cas = mc:gets(k)
		t.eq(v, "v1")
		t.eq(math.type(cas), "integer")
		t.eq(mc:cas(k, "v2", 0, cas), true)
		t.eq(mc:cas(k, "v3", 0, cas), false, "changed since")
		t.eq(mc:get(k), "v2")
		local v2, cas2 = mc:gets(k)
		t.eq(v2, "v2")
		t.ok(cas2 ~= cas, "a new cas")
		t.eq(other:set(k, "theirs"), true)
		t.eq(mc:cas(k, "mine", 0, cas2), false, "another client wrote first")
		t.eq(mc:get(k), "theirs")
		t.eq(mc:gets(p .. "nothing"), false)
		local _, cas3 = mc:gets(k)
		t.eq(mc:delete(k), true)
		t.eq(mc:cas(k, "x", 0, cas3), false, "cas of a deleted key")
		-- compressed values carry their cas too
		t.eq(mc:set(k, ROW), true)
		local big, cas4 = mc:gets(k)
		t.eq(big, ROW)
		t.eq(mc:cas(k, ROW .. "!", 0, cas4), true)
		t.eq(mc:get(k), ROW .. "!")
	end)

	case(proto .. ": mget", function()
		local mc = new()
		local keys, want = {}, {}
		for i = 1, 100 do
			keys[i] = p .. "m:" .. i
			want[keys[i]] = "value " .. i
			t.eq(mc:set(keys[i], want[keys[i]]), true)
		end
		t.eq(mc:delete(keys[7]), true)
		t.eq(mc:set(keys[9], ROW), true) -- compressed, among plain ones
		want[keys[9]] = ROW
		local ask = table.move(keys, 1, #keys, 1, {})
		for i = 1, 20 do
			ask[#ask + 1] = p .. "m:missing:" .. i
		end
		local got = assert(mc:mget(ask))
		local n = 0
		for k, v in pairs(got) do
			n = n + 1
			t.eq(v, want[k], k)
		end
		t.eq(n, 99, "hits")
		t.eq(got[keys[7]], nil, "the deleted key")
		t.eq(next(assert(mc:mget {})), nil, "no keys")
		got = assert(mc:mget { keys[1], keys[1], p .. "m:missing:1" })
		t.eq(got[keys[1]], want[keys[1]], "a key asked twice")
		t.eq(next(assert(mc:mget { p .. "m:missing:1" })), nil, "all miss")
	end)

	case(proto .. ": values are binary-safe", function()
		local mc = new()
		local bytes = all_bytes()
		local values = { "", "\0", "a\0b", "\r\nEND\r\n", bytes,
			string.rep(bytes, 64), string.rep("\0", 5000), noise(3000) }
		for i, v in ipairs(values) do
			local k = p .. "bin:" .. i
			t.eq(mc:set(k, v), true, "set " .. i)
			t.eq(mc:get(k), v, "value " .. i)
			t.eq(mc:mget({ k })[k], v, "mget value " .. i)
		end
	end)

	case(proto .. ": flush", function()
		local mc = new()
		t.eq(mc:set(p .. "flush", "v"), true)
		t.eq(mc:flush(), true)
		t.eq(mc:get(p .. "flush"), false)
	end)
end

case("delete_many deletes every key without waiting, in order", function()
	for _, binary in ipairs({ false, true }) do
		local mc = client({ binary = binary })
		local keys = {}
		for i = 1, 50 do
			keys[i] = "many:" .. tostring(binary) .. ":" .. i
			t.eq(mc:set(keys[i], "v" .. i), true)
		end
		keys[51] = "many:never-set"
		t.eq(mc:delete_many(keys), true)
		-- served after the deletes on the same connection: all gone
		local found = assert(mc:mget(keys))
		t.eq(next(found), nil, "no key left after delete_many")
		t.eq(mc:set(keys[1], "again"), true, "the connection still answers")
		t.eq(mc:get(keys[1]), "again")
		t.eq(mc:delete_many({}), true)
	end
end)

case("ttl expires", function()
	local mc = client()
	t.eq(mc:set("ttl:1", "brief", 1), true)
	t.eq(mc:get("ttl:1"), "brief")
	t.wait_for("expiry", 3000, function()
		return mc:get("ttl:1") == false
	end)
end)

case("values of 'compress' bytes or more are stored compressed", function()
	local mc, plain = client { compress = 1024 }, client { compress = 0 }
	t.eq(mc:set("z:row", ROW), true)
	t.eq(mc:get("z:row"), ROW)
	local stored, flags = raw_get("z:row")
	t.eq(flags, ZSTD, "flag")
	t.ok(#stored < #ROW // 50, "200 KB stored in " .. #stored .. " bytes")
	t.eq(plain:get("z:row"), ROW, "a client that does not compress reads it")
	t.eq(plain:set("z:plain", ROW), true)
	t.eq(select(2, raw_get("z:plain")), 0, "compress = 0: no flag")
	t.eq(raw_get("z:plain"), ROW, "compress = 0: stored as is")
	t.eq(mc:set("z:below", string.rep("a", 1023)), true)
	t.eq(select(2, raw_get("z:below")), 0, "under the threshold")
	t.eq(mc:set("z:at", string.rep("a", 1024)), true)
	t.eq(select(2, raw_get("z:at")), ZSTD, "at the threshold")
	t.eq(mc:get("z:at"), string.rep("a", 1024))
	local n = noise(4096)
	t.eq(mc:set("z:noise", n), true)
	t.eq(select(2, raw_get("z:noise")), 0, "what does not shrink is stored as is")
	-- 5 MB, over memcached's item size unless compressed
	local huge = string.rep("0123456789abcdef", 5 * 65536)
	t.eq(mc:set("z:huge", huge), true)
	t.eq(mc:get("z:huge"), huge)
	local got = assert(mc:mget { "z:row", "z:plain", "z:huge", "z:noise" })
	t.eq(got["z:row"], ROW)
	t.eq(got["z:plain"], ROW)
	t.eq(got["z:huge"], huge)
	t.eq(got["z:noise"], n)
	local big, flags2 = raw_get("z:huge")
	t.eq(flags2, ZSTD)
	t.ok(#big < 65536, "5 MB stored in " .. #big .. " bytes")
end)

case("a compressed value that does not decompress is an error", function()
	local mc = client()
	t.eq(mc:set("c:good", ROW), true)
	local frame = raw_get("c:good")
	local mid = #frame // 2
	local bad = {
		["c:junk"] = "hello",
		["c:empty"] = "",
		["c:cut"] = frame:sub(1, -2),
		["c:flip"] = frame:sub(1, mid - 1) .. string.char(frame:byte(mid) ~ 1)
			.. frame:sub(mid + 1),
		["c:tail"] = frame .. "x",
		-- a header that claims 1 TB: refused before any allocation
		["c:vast"] = "\x28\xb5\x2f\xfd\xe0" .. string.pack("<I8", 1 << 40),
	}
	for k, v in pairs(bad) do
		raw_set(k, ZSTD, v)
		local value, err = mc:get(k)
		t.eq(value, nil, k)
		t.eq(err, "memcached: corrupt compressed value for key '" .. k .. "'")
		t.eq(select(2, mc:gets(k)), "memcached: corrupt compressed value for key '"
			.. k .. "'")
		local got, err2 = mc:mget { "c:good", k }
		t.eq(got, nil, "mget with " .. k)
		t.eq(err2, "memcached: corrupt compressed value for key '" .. k .. "'")
	end
	t.eq(mc:get("c:good"), ROW, "the client goes on")
	raw_set("c:other", 3, "opaque") -- another client's flags
	t.eq(mc:get("c:other"), "opaque")
end)

case("a value over the server's item size fails cleanly", function()
	for _, binary in ipairs { false, true } do
		local mc = client { binary = binary }
		local big = noise(1 << 20)
		local ok, err = mc:set("big:1m", big)
		t.eq(ok, nil)
		t.ok(err:find("memcached: set 'big:1m': value of 1048576 bytes is too large",
			1, true), err)
		t.eq(mc:get("big:1m"), false)
		t.eq(mc:set("big:after", "x"), true, "the connection is in step")
		t.eq(mc:get("big:after"), "x")
		local near = noise(900 * 1024, 7)
		t.eq(mc:set("big:900k", near), true)
		t.eq(mc:get("big:900k"), near)
		t.eq(mc:mget({ "big:900k" })["big:900k"], near)
		wisp.sleep(1)
	end
end)

case("bad keys raise, naming the key", function()
	local mc = client()
	for _, k in ipairs { "", "a b", "a\nb", "a\0b", "tab\tkey", "\127",
		string.rep("k", 251) } do
		t.raises("^memcached: bad key", mc.get, mc, k)
		t.raises("^memcached: bad key", mc.gets, mc, k)
		t.raises("^memcached: bad key", mc.set, mc, k, "v")
		t.raises("^memcached: bad key", mc.add, mc, k, "v")
		t.raises("^memcached: bad key", mc.cas, mc, k, "v", 0, 1)
		t.raises("^memcached: bad key", mc.delete, mc, k)
		t.raises("^memcached: bad key", mc.mget, mc, { "fine", k })
	end
	t.raises("bad key 'a\\x20b' %(3 bytes", mc.get, mc, "a b")
	t.raises("bad key 'kkk.*%.%.%.' %(251 bytes", mc.get, mc, string.rep("k", 251))
	t.raises("bad key %(a string expected, got number%)", mc.get, mc, 42)
	t.raises("bad key %(a string expected, got no value%)", mc.get, mc)
	t.raises("bad key %(a string expected, got table%)", mc.mget, mc, { {} })
	local long = string.rep("k", 250)
	t.eq(mc:set(long, "v"), true, "250 bytes")
	t.eq(mc:get(long), "v")
	t.eq(mc:set("ключ", "значение"), true, "UTF-8")
	t.eq(mc:get("ключ"), "значение")
end)

case("a closed client raises", function()
	local mc = client()
	t.eq(mc:set("closed", "v"), true)
	mc:close()
	mc:close()
	t.raises("memcached: the client is closed", mc.get, mc, "closed")
	t.raises("memcached: the client is closed", mc.mget, mc, { "closed" })
end)

case("mget of 100 keys is one request", function()
	local mc = client()
	local keys = {}
	for i = 1, 100 do
		keys[i] = "rt:" .. i
		t.eq(mc:set(keys[i], "v" .. i), true)
	end
	local got = assert(mc:mget(keys))
	t.eq(got["rt:100"], "v100")
	local f = assert(io.open(LOG))
	local log = f:read("a")
	f:close()
	local requests = 0
	for line in log:gmatch("[^\n]+") do
		if line:find(" gets rt:", 1, true) then
			requests = requests + 1
			t.eq(select(2, line:gsub(" rt:%d+", "")), 100, "keys in the request")
		end
	end
	t.eq(requests, 1, "requests")
end)

case("with one of two servers down, its keys fail and the rest work", function()
	local mc = client { servers = { ADDR, DEAD } }
	local up, down = {}, {}
	for i = 1, 40 do
		local k = "two:" .. i
		local ok, err = mc:set(k, "v" .. i)
		if ok then
			up[#up + 1] = k
		else
			t.ok(err:find("^memcached: set 'two:%d+': "), err)
			down[#down + 1] = k
		end
	end
	t.ok(#up >= 5 and #down >= 5, #up .. " keys up, " .. #down .. " down")
	local started = wisp.now()
	for _, k in ipairs(down) do
		local v, err = mc:get(k)
		t.eq(v, nil, k)
		t.ok(err:find("^memcached: get '" .. k .. "': "), err)
	end
	t.ok(wisp.now() - started < 200, "failing calls wait for nothing")
	for _, k in ipairs(up) do
		t.eq(mc:get(k), "v" .. k:match("%d+"), k)
	end
	-- an mget that needs the dead server fails as a whole: its keys must
	-- not look like misses
	local got, err = mc:mget { up[1], down[1], up[2] }
	t.eq(got, nil)
	t.ok(err:find("^memcached: mget of 3 keys: "), err)
	got = assert(mc:mget { up[1], up[2] })
	t.eq(got[up[1]], "v" .. up[1]:match("%d+"))
	t.eq(got[up[2]], "v" .. up[2]:match("%d+"))
end)

case("a server that hangs costs one timeout, then fails fast", function()
	local mc = client { timeout = 200 }
	t.eq(mc:set("hang:a", "A"), true)
	t.eq(mc:set("hang:b", "B"), true)
	wisp.log("memcached-driver: stop")
	local took, err
	t.wait_for("a get to time out", 10000, function()
		local started = wisp.now()
		local v, e = mc:get("hang:a")
		took, err = wisp.now() - started, e
		return v == nil
	end)
	t.ok(err:find("^memcached: get 'hang:a': A TIMEOUT OCCURRED"), err)
	t.ok(took >= 150 and took < 1000, "timed out after " .. took .. " ms")
	local started = wisp.now()
	local v, e = mc:get("hang:b")
	t.eq(v, nil)
	t.ok(e:find("TIMEOUT", 1, true), e)
	t.eq(select(2, mc:set("hang:c", "C")) ~= nil, true, "set fails too")
	t.eq(mc:mget { "hang:a", "hang:b" }, nil, "mget fails too")
	t.ok(wisp.now() - started < 100, "a hung server is not waited for again at once")
	wisp.log("memcached-driver: continue")
	t.wait_for("the server to answer again", 10000, function()
		return mc:get("hang:b") ~= nil
	end)
	-- the late answer to the get that timed out is not taken for another's
	t.eq(mc:get("hang:b"), "B")
	t.eq(mc:get("hang:a"), "A")
	t.eq(mc:set("hang:c", "C"), true)
	t.eq(mc:get("hang:c"), "C")
end)

case("a server that goes away is used again when it comes back", function()
	local mc = client()
	t.eq(mc:set("life:a", "A"), true)
	wisp.log("memcached-driver: kill")
	local err
	t.wait_for("memcached to be gone", 10000, function()
		local v, e = mc:get("life:a")
		err = e
		return v == nil
	end)
	t.ok(err:find("^memcached: get 'life:a': CONNECTION FAILURE"), err)
	-- Calls fail at once, saying why, for 8 s: long enough for several
	-- retries, and for libmemcached to give the server up for good if
	-- failed servers were ejected (it would after 5 failed retries).
	local slowest, down_since = 0, wisp.now()
	while wisp.now() - down_since < 8000 do
		for _, call in ipairs {
			function() return mc:get("life:a") end,
			function() return mc:set("life:a", "A2") end,
			function() return mc:mget { "life:a" } end,
			function() return mc:delete("life:a") end,
		} do
			local started = wisp.now()
			local v, e = call()
			slowest = math.max(slowest, wisp.now() - started)
			t.eq(v, nil)
			t.ok(e:find("CONNECTION FAILURE", 1, true)
				or e:find("DISABLED UNTIL TIMED RETRY", 1, true), e)
		end
		wisp.sleep(100)
	end
	t.ok(slowest < 100, "calls to a dead server took up to " .. slowest .. " ms")
	wisp.log("memcached-driver: start")
	local started = wisp.now()
	t.wait_for("memcached to be back", 10000, function()
		return mc:set("life:b", "B") == true
	end)
	wisp.log("memcached: the same client works again " .. (wisp.now() - started)
		.. " ms after the restart was asked for")
	t.eq(mc:get("life:b"), "B")
	t.eq(mc:get("life:a"), false, "a new memcached starts empty")
	t.eq(mc:mget({ "life:b" })["life:b"], "B")
end)

t.run()
