-- console/trace.lua: a trace as the nodes recorded it (wisp.admin.trace):
-- the path it took, one step per service (the node, the service, the
-- time from its first work for the trace to the end of its last), and
-- its spans and log lines from every node merged in time order. Used by
-- the trace command and by the slow call report (console/run.lua).
local admin = require "wisp.admin"
local cluster = require "wisp.cluster"

local concat, format = table.concat, string.format

local trace = {}

-- What this node holds of trace id: { trace, spans, lines }.
function trace.here(id)
	if type(id) ~= "string" or not id:match("^%x+$") or #id > 16 then
		error("usage: trace [NODE] ID (16 hex digits)", 0)
	end
	local r = admin.trace(id)
	return { trace = id:lower(), spans = r.spans, lines = r.lines,
		node = cluster.self() }
end

-- One step per service of every node's spans, in the order the trace
-- reached them.
local function steps(results)
	local by, list = {}, {}
	for _, r in ipairs(results) do
		for _, s in ipairs(r.data and r.data.spans or {}) do
			local key = r.node .. ":" .. s.handle
			local step = by[key]
			if not step then
				step = { node = r.node, name = s.name, first = s.start_ns,
					last = s.start_ns + s.ns }
				by[key] = step
				list[#list + 1] = step
			end
			step.first = math.min(step.first, s.start_ns)
			step.last = math.max(step.last, s.start_ns + s.ns)
		end
	end
	table.sort(list, function(a, b) return a.first < b.first end)
	return list
end

-- "net gate 301.20 ms > game1 room 300.80 ms > db slow_db 300.31 ms"
function trace.path(results)
	local parts = {}
	for i, s in ipairs(steps(results)) do
		parts[i] = format("%s %s %.2f ms", s.node, s.name,
			(s.last - s.first) / 1e6)
	end
	return #parts > 0 and concat(parts, " > ") or "no spans recorded"
end

-- Raises the first node's error when no node could answer (a bad ID).
local function check_answered(results)
	for _, r in ipairs(results) do
		if not r.error then
			return
		end
	end
	error(results[1] and results[1].error or "trace: no node answered", 0)
end

-- Every node's spans and lines, in time order, after the path. A span as
-- a line of its own: "TIME SPAN  NODE NAME:HANDLE trace=ID 2 turns,
-- busy 0.213 ms, over 300.512 ms".
function trace.text(results)
	check_answered(results)
	local id, entries = "?", {}
	for _, r in ipairs(results) do
		local d = r.data or {}
		id = d.trace or id
		for _, s in ipairs(d.spans or {}) do
			entries[#entries + 1] = { at = s.at, text = format(
				"%s SPAN  %s %s:%08x trace=%s %d turns, busy %.3f ms, over "
				.. "%.3f ms", s.at, r.node, s.name, s.handle, d.trace, s.turns,
				s.busy_ns / 1e6, s.ns / 1e6) }
		end
		for _, line in ipairs(d.lines or {}) do
			entries[#entries + 1] = { at = line:sub(1, 23), text = line }
		end
		if r.error then
			entries[#entries + 1] = { at = "", text = format("node %s: %s",
				r.node, r.error) }
		end
	end
	for i, e in ipairs(entries) do
		e.order = i
	end
	table.sort(entries, function(a, b)
		if a.at ~= b.at then
			return a.at < b.at
		end
		return a.order < b.order
	end)
	local out = { format("trace %s: %s", id, trace.path(results)) }
	for _, e in ipairs(entries) do
		out[#out + 1] = e.text
	end
	return concat(out, "\n")
end

return trace
