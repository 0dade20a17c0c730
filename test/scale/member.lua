-- member.lua: every node of the scale cluster but the root runs it, with
-- the cluster's size and its own id. It tells the collector on the root
-- when it has seen every other node up ("ready"), and after that each
-- node it sees go down or come back. Nodes n2, n12, n22... claim the
-- cluster-wide name "nameI" (I their id); nodes n7, n17, n27... once
-- ready, call the name of the node five below them until it answers with
-- that node's name, and tell the collector.
local wisp = require "wisp"

local count, id = ...
count, id = tonumber(count), tonumber(id)
local me = "n" .. id
local RESOLVE_MS = 60000 -- how long a resolver keeps trying

local up, ups, ready = {}, 0, false

local function tell(...)
	wisp.send("collector@root", ...)
end

local function resolve()
	local name, holder = "name" .. (id - 5), "n" .. (id - 5)
	local deadline, why = wisp.now() + RESOLVE_MS, "not tried"
	while wisp.now() < deadline do
		local ok, answer = pcall(wisp.call_timeout, 5000, name, "ping")
		if ok and answer == holder then
			return tell("resolved", me)
		end
		why = tostring(answer)
		wisp.sleep(100)
	end
	tell("unresolved", me, why)
end

local function on_ready()
	ready = true
	tell("ready", me)
	if id % 10 == 7 then
		wisp.fork(resolve)
	end
end

-- Registered in the main chunk: the first news of other nodes comes from
-- the root over the network, after this service has booted.
wisp.monitor_nodes(function(event, name)
	local now_up = event == "up"
	if up[name] == now_up then
		return
	end
	up[name] = now_up
	ups = ups + (now_up and 1 or -1)
	if ready then
		tell(event, me, name)
	elseif ups == count - 1 then
		on_ready()
	end
end)

wisp.start(function()
	wisp.dispatch("lua", function(_, op)
		assert(op == "ping", "member: unknown request")
		return me
	end)
	if id % 10 == 2 then -- claimed once this node has joined the root
		wisp.fork(wisp.register_global, "name" .. id)
	end
end)
