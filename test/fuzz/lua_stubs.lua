-- lua_stubs.lua: what the console's modules require of a node, faked for
-- the fuzz targets of its parsers (fuzz_console.lua, fuzz_http.lua): a
-- socket that hands out the input in chunks of sizes drawn from a seed
-- and keeps what is written, a cluster of three nodes, and a wisp that
-- logs nowhere and refuses every call. Also the check that a reader of
-- console/lines.lua returns what its bound says, buffering no more.
local stubs = { written = {} }

local feed = { data = "", at = 1, seed = 1, handed = 0 }

-- The next chunk of the input: 1 to 64 bytes, or to 4 KB now and then.
local function chunk()
	feed.seed = (feed.seed * 1103515245 + 12345) % 2147483648
	local n = 1 + (feed.seed >> 8) % 64
	if (feed.seed >> 20) % 8 == 0 then
		n = n * 64
	end
	return n
end

function stubs.reset(data, seed)
	feed.data, feed.at, feed.seed, feed.handed = data, 1, seed, 0
	stubs.written = {}
	stubs.on_read = nil
end

local noop = function() end

package.preload["wisp.socket"] = function()
	return {
		read = function()
			if stubs.on_read then
				stubs.on_read(feed.handed)
			end
			if feed.at > #feed.data then
				return nil, "closed"
			end
			local n = chunk()
			local s = feed.data:sub(feed.at, feed.at + n - 1)
			feed.at = feed.at + #s
			feed.handed = feed.handed + #s
			return s
		end,
		write = function(_, s)
			stubs.written[#stubs.written + 1] = s
		end,
	}
end

stubs.nodes = { "root", "game1", "net" }
local known = { root = true, game1 = true, net = true }
stubs.known = known

package.preload["wisp.cluster"] = function()
	return {
		self = function() return "root" end,
		exists = function(name) return known[name] == true end,
		names = function() return { "root", "game1", "net" } end,
	}
end

package.preload["wisp.admin"] = function() return {} end

package.preload["wisp"] = function()
	local refuse = function() error("no calls in a fuzz run", 0) end
	return { log = noop, log_warn = noop, log_debug = noop, log_error = noop,
		call = refuse, call_timeout = refuse, send = refuse, query = noop,
		address = tostring, nodes = function() return {} end,
		self = function() return 1 end }
end

-- The results a reader of the whole input with bound max must give, in
-- order (console/lines.lua): each line, then nil and why.
local function expected(data, max)
	local out, pos = {}, 1
	while true do
		local at = data:find("\n", pos, true)
		if not at then
			local why = #data - pos + 1 > max + 1 and "line too long" or "closed"
			out[#out + 1] = { nil, why }
			return out
		end
		if at - pos > max then
			out[#out + 1] = { nil, "line too long" }
			return out
		end
		local line = data:sub(pos, at - 1):gsub("\r$", "")
		out[#out + 1] = { line, nil, at - pos + 1 }
		pos = at + 1
	end
end

-- Wraps lines.reader so that every reader made checks each result
-- against expected() and, at each read of the socket, that it holds no
-- more than max + 1 bytes not yet returned.
function stubs.check_lines(lines, data)
	local reader = lines.reader
	lines.reader = function(id, max)
		local want, n, consumed = expected(data, max), 0, 0
		stubs.on_read = function(handed)
			if handed - consumed > max + 1 then
				error(string.format("the reader holds %d bytes, bound %d",
					handed - consumed, max + 1))
			end
		end
		local read = reader(id, max)
		return function()
			local line, why = read()
			n = n + 1
			local w = want[n]
			if w == nil or line ~= w[1] or why ~= w[2] then
				error(string.format("read %d gave %q %q, not %q %q", n,
					tostring(line), tostring(why), tostring(w and w[1]),
					tostring(w and w[2])))
			end
			consumed = consumed + (w[3] or 0)
			return line, why
		end
	end
	return function() lines.reader = reader end
end

-- An input's run begins: its first byte holds flags (bit 1: the console
-- token is set), its second seeds the chunk sizes, the rest is the stream
-- the socket hands out, read through lines (console/lines.lua) under the
-- check of its bound. Returns the flags, the stream and the function
-- that ends the check.
stubs.TOKEN = "t0ken-for-the-fuzz-run-0123456789abcdef"

function stubs.start(data, lines)
	local flags, seed = data:byte(1) or 0, data:byte(2) or 0
	local stream = data:sub(3)
	require("console.auth").set_token(flags & 1 == 1 and stubs.TOKEN or nil)
	stubs.reset(stream, seed)
	return flags, stream, stubs.check_lines(lines, stream)
end

-- A connection of console/admit.lua, authenticated() as told.
function stubs.connection(admitted)
	return { id = 1, state = "open", peer = "127.0.0.1:1",
		authenticated = function() return admitted end }
end

return stubs
