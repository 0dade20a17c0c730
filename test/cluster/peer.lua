-- peer.lua: the service game2 and game3 run in the cluster tests. It takes
-- the local name "pong" and the cluster-wide name given as its argument,
-- and answers pings, echoes payloads, holds slow calls and calls onward.
-- It also receives the numbered streams of the order checks
-- (sequence.lua) and keeps, per sender and stream, what arrived, and logs
-- the text messages it gets as "NOTE text".
local wisp = require "wisp"
local global_name = assert(..., "peer.lua wants its cluster-wide name")

local commands = {}

-- "source/stream" -> { received, last, errors, first_error }: the number
-- each message carried must be one more than the last one's
local streams = {}

local function stream_of(source, stream)
	local key = source .. "/" .. tostring(stream)
	local s = streams[key]
	if s == nil then
		s = { received = 0, last = 0, errors = 0 }
		streams[key] = s
	end
	return s
end

-- Commands that want the sender's handle first.
local sourced = {}

function sourced.seq(source, stream, n)
	local s = stream_of(source, stream)
	s.received = s.received + 1
	if n ~= s.last + 1 then
		s.errors = s.errors + 1
		if s.first_error == nil then
			s.first_error = string.format("message %s after %d (%s)",
				tostring(n), s.last, n == s.last and "a duplicate"
				or type(n) == "number" and n > s.last and "a gap"
				or "going back")
		end
	end
	s.last = type(n) == "number" and n or s.last
end

function sourced.seq_count(source, stream)
	local s = stream_of(source, stream)
	return s.received, s.last, s.errors, s.first_error
end

function commands.ping(...)
	return "pong", global_name, ...
end

function commands.whoami()
	return wisp.self(), global_name
end

function commands.echo(payload)
	return payload, #payload
end

function commands.size(payload)
	return #payload
end

-- Keeps this node busy for ms: rounds of 25 ms of CPU, each followed by
-- a turn of the node's loop, so that it drains its sockets slowly.
function commands.burn(ms)
	wisp.fork(function()
		local stop = wisp.now() + ms
		while wisp.now() < stop do
			local until_clock = os.clock() + 0.025
			while os.clock() < until_clock do end
			wisp.sleep(0)
		end
	end)
	return true
end

-- Learns addr's handle from its answer, then calls it by that handle.
function commands.learn(addr)
	local handle = wisp.call(addr, "whoami")
	return handle, wisp.call(handle, "ping", "learned")
end

-- Logs a marker the driver waits for before it kills this node.
function commands.slow(ms)
	wisp.log("SLOW STARTED " .. global_name)
	wisp.sleep(ms)
	return "slow done"
end

-- Calls addr from this node and returns what it answered.
function commands.relay(addr, ...)
	return wisp.call(addr, ...)
end

wisp.start(function()
	wisp.dispatch("lua", function(source, cmd, ...)
		local f = commands[cmd]
		if f then
			return f(...)
		end
		f = sourced[cmd]
		if f then
			return f(source, ...)
		end
		error("peer: unknown command " .. tostring(cmd))
	end)
	-- text messages (the same-host test's handmade frames) are logged
	wisp.dispatch("text", function(_, text)
		wisp.log("NOTE " .. text)
	end)
	wisp.register("pong")
	wisp.register_global(global_name)
	wisp.log("READY " .. global_name)
end)
