-- console/top.lua: the `top` command, what `wisp-ctl top` shows and
-- refreshes: each node's process (CPU, memory) and its busiest services
-- (messages/s, mailbox, CPU, memory). Rates are over the time since the
-- node's previous top, whoever asked it (each asker's view is right: a
-- rate over a shorter span is still the rate), or since the node's start
-- the first time.
local admin = require "wisp.admin"
local text = require "console.text"

local format = string.format

local SHOWN = 10 -- services per node unless the command asks another count

local top = {}

local last -- { at, cpu, services = handle -> { handled, cpu_ms } }

local function rates(services, p, node)
	local since = last and last.at or p.now - node.uptime_ms / 1000
	local span = math.max(p.now - since, 1e-3)
	local before = last and last.services or {}
	local rows, total = {}, 0
	for _, s in ipairs(services) do
		local b = before[s.handle] or { handled = 0, cpu_ms = 0 }
		local rate = math.max(s.handled - b.handled, 0) / span
		total = total + rate
		rows[#rows + 1] = { service = s, rate = rate,
			cpu = math.max(s.cpu_ms - b.cpu_ms, 0) / (span * 10) }
	end
	local cpu = (p.cpu_seconds - (last and last.cpu or 0)) / span * 100
	return rows, total, cpu
end

local function remember(services, p)
	local seen = {}
	for _, s in ipairs(services) do
		seen[s.handle] = { handled = s.handled, cpu_ms = s.cpu_ms }
	end
	last = { at = p.now, cpu = p.cpu_seconds, services = seen }
end

local function busiest_first(a, b)
	if a.rate ~= b.rate then
		return a.rate > b.rate
	end
	if a.service.mailbox ~= b.service.mailbox then
		return a.service.mailbox > b.service.mailbox
	end
	return a.service.handle < b.service.handle
end

-- args[1]: how many services to show (10).
function top.run(args)
	local shown = math.tointeger(tonumber(args[1] or SHOWN))
	if not shown or shown < 1 or shown > 1000 then
		error("top: the count of services must be 1 to 1000", 0)
	end
	local node, p, services = admin.node(), admin.process(), admin.services()
	local rows, total, cpu = rates(services, p, node)
	remember(services, p)
	table.sort(rows, busiest_first)
	local list = {}
	for i = 1, math.min(shown, #rows) do
		local r, s = rows[i], rows[i].service
		list[i] = { address = s.address, name = s.name, script = s.script,
			module = s.module, rate = r.rate, mailbox = s.mailbox,
			cpu = r.cpu, memory = s.memory }
	end
	return { name = node.name, cpu = cpu, rss = p.resident_bytes,
		fds = p.open_fds, count = #services, rate = total, services = list }
end

function top.text(r)
	local rows = {}
	for i, s in ipairs(r.services) do
		rows[i] = { s.address, s.name, s.script or s.module,
			format("%.0f", s.rate), s.mailbox, format("%.1f", s.cpu),
			text.bytes(s.memory) }
	end
	return format("node %s  cpu %.1f%%  rss %s  fds %d  services %d  "
		.. "msg/s %.0f\n", r.name, r.cpu, text.bytes(r.rss), r.fds, r.count,
		r.rate) .. text.table({ "ADDRESS", "NAME", "RUNS", "MSG/S",
		"MAILBOX", "CPU%", "MEMORY" }, rows, { [4] = true, [6] = true,
		[7] = true })
end

return top
