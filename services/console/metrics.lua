-- console/metrics.lua: the node's metrics in the Prometheus text format
-- (version 0.0.4): its services, its harbor links, its gate if it has
-- one, and the db service's counters on the node with the db role.
-- wisp_messages_total must only grow, yet services come and go: what the
-- services gone had handled, as last seen, is kept in the total.
local wisp = require "wisp"
local admin = require "wisp.admin"

local format, concat = string.format, table.concat
local math_type, huge = math.type, math.huge

local DB_MS = 2000 -- a scrape should not wait long for the db service

local metrics = {}

local seen = {}   -- handle -> messages it had handled at the last scrape
local retired = 0 -- messages handled by services since gone

local function escape_label(v)
	return (tostring(v):gsub('[\\"\n]', { ["\\"] = "\\\\", ['"'] = '\\"',
		["\n"] = "\\n" }))
end

local function number(v)
	if math_type(v) == "integer" then
		return format("%d", v)
	elseif v ~= v then
		return "NaN"
	elseif v == huge or v == -huge then
		return v > 0 and "+Inf" or "-Inf"
	end
	return format("%.15g", v)
end

-- A writer of families: each one's HELP and TYPE, then its samples.
local function new_writer()
	local out = {}
	local w = {}
	function w.family(name, kind, help)
		out[#out + 1] = "# HELP " .. name .. " " .. help
		out[#out + 1] = "# TYPE " .. name .. " " .. kind
	end
	-- labels: a list of { name, value }, in the order to print them
	function w.sample(name, labels, value)
		local parts = {}
		for i, l in ipairs(labels or {}) do
			parts[i] = l[1] .. '="' .. escape_label(l[2]) .. '"'
		end
		local set = #parts > 0 and "{" .. concat(parts, ",") .. "}" or ""
		out[#out + 1] = name .. set .. " " .. number(value)
	end
	function w.text()
		return concat(out, "\n") .. "\n"
	end
	return w
end

-- Messages handled by every service there has been, as far as seen.
local function messages_total(services)
	local now, sum = {}, 0
	for _, s in ipairs(services) do
		local last = seen[s.handle]
		if last and s.handled < last then -- the handle was given out again
			retired = retired + last
		end
		now[s.handle] = s.handled
		sum = sum + s.handled
	end
	for handle, last in pairs(seen) do
		if now[handle] == nil then
			retired = retired + last
		end
	end
	seen = now
	return retired + sum
end

local function service_labels(s)
	return { { "service", s.name or s.script or s.module },
		{ "address", s.address } }
end

local function write_services(w, services)
	w.family("wisp_messages_total", "counter",
		"Messages handled by the services of this node.")
	w.sample("wisp_messages_total", nil, messages_total(services))
	local families = {
		{ "wisp_service_messages_total", "counter",
			"Messages handled by a service.", "handled", 1 },
		{ "wisp_service_mailbox", "gauge",
			"Messages waiting in a service's mailbox.", "mailbox", 1 },
		{ "wisp_service_mailbox_peak", "gauge",
			"The most messages a service's mailbox has held at once.",
			"mailbox_peak", 1 },
		{ "wisp_service_errors_total", "counter",
			"Messages whose handler failed (a Lua error).", "errors", 1 },
		{ "wisp_service_refused_total", "counter",
			"Requests refused because a service's mailbox was full.",
			"refused", 1 },
		{ "wisp_service_cpu_seconds_total", "counter",
			"CPU time spent in a service's handlers.", "cpu_ms", 1e-3 },
		{ "wisp_service_memory_bytes", "gauge",
			"Memory of a Lua service's state.", "memory", 1 },
	}
	for _, f in ipairs(families) do
		w.family(f[1], f[2], f[3])
		for _, s in ipairs(services) do
			local v = s[f[4]] or 0
			w.sample(f[1], service_labels(s), f[5] == 1 and v or v * f[5])
		end
	end
end

local function has_module(services, module)
	for _, s in ipairs(services) do
		if s.module == module then
			return true
		end
	end
	return false
end

local function write_harbor(w)
	local peers = {}
	for _, n in ipairs(wisp.nodes()) do
		if not n.self then
			peers[#peers + 1] = n
		end
	end
	w.family("wisp_harbor_link_up", "gauge",
		"1 when the link to a node is up.")
	for _, n in ipairs(peers) do
		w.sample("wisp_harbor_link_up", { { "node", n.name } }, n.up and 1 or 0)
	end
	for _, what in ipairs({ "bytes", "frames" }) do
		local name = "wisp_harbor_" .. what .. "_total"
		w.family(name, "counter", "Harbor " .. what .. " to and from a node.")
		for _, n in ipairs(peers) do
			for _, dir in ipairs({ "in", "out" }) do
				w.sample(name, { { "node", n.name }, { "direction", dir } },
					n[what .. "_" .. dir])
			end
		end
	end
end

local gate_closed = { bad_frame = "bad_frames", slow = "slow_dropped",
	idle = "idle_closed", rate = "rate_closed", kicked = "kicked",
	frame_timeout = "frame_closed", partial_budget = "budget_closed" }

-- Why commands end with no reply (services/gate/api.c's names).
local failures = { "unrouted", "overloaded", "unreachable", "service_exited",
	"handler_failed", "timed_out" }

local function write_gate(w, g)
	w.family("wisp_gate_connections", "gauge", "Clients connected now.")
	w.sample("wisp_gate_connections", nil, g.connections)
	local counts = {
		{ "accepted", "Clients the gate accepted." },
		{ "refused", "Clients refused, over gate.max_connections." },
		{ "address_refused",
			"Clients refused, over gate.max_per_address." },
		{ "unrouted", "Client frames whose command no route covers." },
	}
	for _, c in ipairs(counts) do
		local name = "wisp_gate_" .. c[1] .. "_total"
		w.family(name, "counter", c[2])
		w.sample(name, nil, g[c[1]])
	end
	for _, what in ipairs({ "frames", "bytes" }) do
		local name = "wisp_gate_" .. what .. "_total"
		w.family(name, "counter", "Client " .. what .. " in and out.")
		for _, dir in ipairs({ "in", "out" }) do
			w.sample(name, { { "direction", dir } }, g[what .. "_" .. dir])
		end
	end
	w.family("wisp_gate_failed_commands_total", "counter",
		"Client commands that ended with no reply, by reason.")
	for _, reason in ipairs(failures) do
		w.sample("wisp_gate_failed_commands_total", { { "reason", reason } },
			g[reason])
	end
	w.family("wisp_gate_error_frames_total", "counter",
		"Error frames sent to clients, by reason.")
	for _, reason in ipairs(failures) do
		w.sample("wisp_gate_error_frames_total", { { "reason", reason } },
			g["error_frames_" .. reason])
	end
	w.family("wisp_gate_closed_total", "counter",
		"Clients the gate closed, by reason.")
	for _, reason in ipairs({ "bad_frame", "slow", "idle", "rate", "kicked",
		"frame_timeout", "partial_budget" }) do
		w.sample("wisp_gate_closed_total", { { "reason", reason } },
			g[gate_closed[reason]])
	end
end

local function write_db(w)
	local ok, stats = pcall(wisp.call_timeout, DB_MS, "db", "stats")
	w.family("wisp_db_up", "gauge", "1 when the db service answered.")
	w.sample("wisp_db_up", nil, ok and 1 or 0)
	if not ok then
		return
	end
	local cache = stats.cache or {}
	local counters = {
		{ "wisp_db_cache_hits_total", "Rows read from the cache.", cache.hits },
		{ "wisp_db_cache_misses_total", "Rows not in the cache.", cache.misses },
		{ "wisp_db_commits_total", "Transactions committed.", stats.commits },
		{ "wisp_db_writes_total", "Writes committed.", stats.rows },
		{ "wisp_db_commit_seconds_total", "Time spent committing.",
			(stats.commit_us or 0) / 1e6 },
		{ "wisp_db_checkpoints_total", "WAL checkpoints (sqlite).",
			stats.checkpoints },
	}
	for _, c in ipairs(counters) do
		w.family(c[1], "counter", c[2])
		w.sample(c[1], nil, c[3] or 0)
	end
end

-- The process, in the names every Prometheus client library uses, so that
-- the dashboards made for them work here.
local function write_process(w)
	local p = admin.process()
	local list = {
		{ "process_cpu_seconds_total", "counter",
			"Total user and system CPU time spent in seconds.", p.cpu_seconds },
		{ "process_resident_memory_bytes", "gauge",
			"Resident memory size in bytes.", p.resident_bytes },
		{ "process_open_fds", "gauge", "Number of open file descriptors.",
			p.open_fds },
		{ "process_start_time_seconds", "gauge",
			"Start time of the process since unix epoch in seconds.",
			p.start_time },
	}
	if p.max_fds > 0 then
		list[#list + 1] = { "process_max_fds", "gauge",
			"Maximum number of open file descriptors.", p.max_fds }
	end
	for _, m in ipairs(list) do
		w.family(m[1], m[2], m[3])
		w.sample(m[1], nil, m[4])
	end
end

-- The latency histograms (runtime/histogram.h): cumulative buckets by
-- le, then the sum and the count, per label value.
local function write_histograms(w)
	for _, h in ipairs(admin.histograms()) do
		w.family(h.name, "histogram", h.help)
		for _, s in ipairs(h.series) do
			local label = { h.label_name, s.label }
			local total = 0
			for i, n in ipairs(s.buckets) do
				total = total + n
				local le = h.bounds[i] and number(h.bounds[i]) or "+Inf"
				w.sample(h.name .. "_bucket", { label, { "le", le } }, total)
			end
			w.sample(h.name .. "_sum", { label }, s.sum)
			w.sample(h.name .. "_count", { label }, s.count)
		end
	end
end

-- The metrics of this node, as a scrape gets them.
function metrics.render()
	local w = new_writer()
	local node = admin.node()
	local services = admin.services()
	table.sort(services, function(a, b) return a.handle < b.handle end)
	w.family("wisp_uptime_seconds", "gauge", "Seconds since the node started.")
	w.sample("wisp_uptime_seconds", nil, node.uptime_ms / 1000)
	write_process(w)
	write_services(w, services)
	write_histograms(w)
	if has_module(services, "harbor") then
		write_harbor(w)
	end
	local gate = admin.gate()
	if gate then
		write_gate(w, gate)
	end
	for _, role in ipairs(node.roles) do
		if role == "db" then
			write_db(w)
		end
	end
	return w.text()
end

return metrics
