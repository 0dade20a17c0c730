-- collector.lua: the root's service in the scale cluster (scale.lua). It
-- gathers what the members tell it and logs, for the driver to read:
--   "scale: formed N" once every member and the root see all the others up;
--   "scale: names resolved R of R" once every resolver got its answer;
--   "scale: EVENT NODE seen by K of K" once every node but NODE (the root
--     too) saw NODE go down or come back up ("first report: EVENT NODE"
--     at the first, so that an unexpected one shows);
--   "scale: progress ..." every second while something is incomplete.
-- All but the last two end with "(root frames out F)": the MSG frames the
-- root has sent so far, from which the driver counts the frames of a join.
local wisp = require "wisp"

local count = tonumber((...))
local others = count - 1 -- the nodes each one must see, and the members
local resolvers = 0
for id = 2, count do
	resolvers = resolvers + (id % 10 == 7 and id - 5 >= 2 and 1 or 0)
end

-- The directory messages (MSG frames) the root has sent, to all nodes.
local function frames_out()
	local n = 0
	for _, node in ipairs(wisp.nodes()) do
		n = n + node.frames_out
	end
	return n
end

local seen = {}  -- key -> { reporter = true }, and its count in sizes
local sizes = {}
local done = {}
local root_ups = 0

local function add(key, reporter, want, line)
	local set = seen[key]
	if not set then
		set = {}
		seen[key] = set
		sizes[key] = 0
	end
	if set[reporter] then
		return
	end
	set[reporter] = true
	sizes[key] = sizes[key] + 1
	if sizes[key] == want and not done[key] then
		done[key] = true
		wisp.log(string.format("scale: %s (root frames out %d)", line,
			frames_out()))
	end
end

local function formed()
	if root_ups == others and sizes.ready == others and not done.formed then
		done.formed = true
		wisp.log(string.format("scale: formed %d (root frames out %d)", count,
			frames_out()))
	end
end

-- A node's down or up, from a member or from the root itself.
local function event(kind, reporter, node)
	local key = kind .. " " .. node
	if not seen[key] then
		wisp.log(string.format("scale: first report: %s (from %s)", key,
			reporter))
	end
	add(key, reporter, others, string.format("%s seen by %d of %d", key,
		others, others))
end

wisp.monitor_nodes(function(kind, node)
	root_ups = root_ups + (kind == "up" and 1 or -1)
	if done.formed then
		event(kind, "root", node)
	end
	formed()
end)

wisp.start(function()
	wisp.register("collector")
	wisp.dispatch("lua", function(_, op, reporter, a)
		if op == "ready" then
			add("ready", reporter, others, "members ready " .. others)
			formed()
		elseif op == "resolved" then
			add("resolved", reporter, resolvers, string.format(
				"names resolved %d of %d", resolvers, resolvers))
		elseif op == "unresolved" then
			wisp.log_warn("scale: " .. reporter .. " did not resolve: " .. a)
		else
			event(op, reporter, a)
		end
	end)
	wisp.fork(function()
		while true do
			wisp.sleep(1000)
			local open = {}
			for key, n in pairs(sizes) do
				if not done[key] then
					open[#open + 1] = key .. " " .. n
				end
			end
			if #open > 0 or not done.formed then
				table.sort(open)
				wisp.log(string.format("scale: progress root_ups %d %s",
					root_ups, table.concat(open, ", ")))
			end
		end
	end)
end)
