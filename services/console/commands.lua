-- console/commands.lua: the console's commands. Each has its usage, how
-- it picks its node (target), run, which does the work on that node and
-- returns plain values (they may have crossed the harbor), and text,
-- which renders them for people. console/run.lua picks the nodes,
-- forwards and renders.
--
-- target: "optional": [NODE|all] first, this node by default;
-- "required": NODE or all first; "one": a NODE first, not all; "here":
-- runs on the node asked (it finds the db node itself, or needs none);
-- "every": NODE first, or every node by default. A command with merge
-- renders the replies of many nodes as one.
local wisp = require "wisp"
local admin = require "wisp.admin"
local cluster = require "wisp.cluster"
local text = require "console.text"
local top = require "console.top"
local trace = require "console.trace"

local concat, format = table.concat, string.format

local SYSTEM_MS = 5000 -- a gc or reload of one service
local DB_MS = 5000     -- a request to the db service
local STOP_DELAY_MS = 100 -- the answer goes out before the node stops

local commands = {}

local function usage(name)
	error("usage: " .. commands[name].usage, 0)
end

local function by_handle(list)
	table.sort(list, function(a, b) return a.handle < b.handle end)
	return list
end

-- The service of this node at addr (":0040000a", a handle in decimal or a
-- name), or an error.
local function find_service(addr)
	local handle
	if addr:sub(1, 1) == ":" then
		handle = tonumber(addr:sub(2), 16)
	elseif addr:match("^%d+$") then
		handle = tonumber(addr)
	else
		handle = wisp.query(addr)
	end
	for _, s in ipairs(admin.services()) do
		if s.handle == handle then
			return s
		end
	end
	error(format("no service %s on node %s", addr, cluster.self()), 0)
end

local function label(s)
	return s.script or s.module
end

-- Lua services of this node: the one at addr, or all.
local function lua_services(addr)
	if addr then
		local s = find_service(addr)
		if s.module ~= "lua" then
			error(format("%s is a %s service, not a Lua one", addr, s.module), 0)
		end
		return { s }
	end
	local out = {}
	for _, s in ipairs(by_handle(admin.services())) do
		if s.module == "lua" then
			out[#out + 1] = s
		end
	end
	return out
end

-- Sends text to each service as a system request; one result each.
local function system_all(services, request)
	local results = {}
	for i, s in ipairs(services) do
		local ok, answer = pcall(admin.system, s.handle, request, SYSTEM_MS)
		results[i] = { address = s.address, script = s.script,
			result = ok and answer or nil,
			error = not ok and tostring(answer) or nil }
	end
	return results
end

local function results_text(r)
	local rows = {}
	for i, x in ipairs(r.results) do
		rows[i] = { x.address, x.script, x.result or "error: " .. x.error }
	end
	return text.table({ "ADDRESS", "SCRIPT", "RESULT" }, rows)
end

commands.nodes = {
	usage = "nodes [NODE|all]",
	help = "every node of the config: roles, up, linked, traffic",
	target = "optional",
	run = function()
		local nodes = wisp.nodes()
		table.sort(nodes, function(a, b) return a.id < b.id end)
		return { nodes = nodes }
	end,
	text = function(r)
		local rows = {}
		for i, n in ipairs(r.nodes) do
			rows[i] = { n.name, n.id, concat(n.roles, ","), n.up,
				n.self and "self" or (n.linked and "yes" or "no"),
				n.bytes_in, n.bytes_out, n.frames_in, n.frames_out }
		end
		return text.table({ "NAME", "ID", "ROLES", "UP", "LINKED", "BYTES_IN",
			"BYTES_OUT", "FRAMES_IN", "FRAMES_OUT" }, rows)
	end,
}

commands.services = {
	usage = "services [NODE|all]",
	help = "every service: handle, names, module, messages, mailbox, CPU, memory",
	target = "optional",
	run = function()
		return { services = by_handle(admin.services()) }
	end,
	text = function(r)
		local rows = {}
		for i, s in ipairs(r.services) do
			rows[i] = { s.address, #s.names > 0 and concat(s.names, ",") or nil,
				s.module, s.script, s.handled, s.mailbox, s.cpu_ms,
				text.bytes(s.memory) }
		end
		return text.table({ "ADDRESS", "NAME", "MODULE", "SCRIPT", "HANDLED",
			"MAILBOX", "CPU_MS", "MEMORY" }, rows, { [8] = true })
	end,
}

local gate_keys = { "connections", "accepted", "refused", "frames_in",
	"frames_out", "bytes_in", "bytes_out", "bad_frames", "slow_dropped",
	"idle_closed", "rate_closed", "kicked", "unrouted", "frame_closed",
	"budget_closed", "address_refused" }

commands.gate = {
	usage = "gate [NODE|all]",
	help = "the gate's counters: connections, frames and bytes in and out",
	target = "optional",
	roles = "net", -- all: the nodes with a gate
	run = function()
		local g = admin.gate()
		if not g then
			local nets = cluster.names("net")
			error(format("node %s has no gate (%s)", cluster.self(),
				#nets > 0 and "the net nodes: " .. concat(nets, ", ")
				or "no node has the net role"), 0)
		end
		return { gate = g }
	end,
	text = function(r)
		local list = {}
		for i, k in ipairs(gate_keys) do
			list[i] = { k, r.gate[k] }
		end
		return text.pairs(list)
	end,
}

-- "call to db@x failed: db: no table t" -> "db: no table t"
local function db_call_at(name, ...)
	local ok, result = pcall(wisp.call_timeout, DB_MS,
		cluster.address("db", name), ...)
	if not ok then
		error(tostring(result):match("(db: .*)$") or tostring(result), 0)
	end
	return result
end

local function db_call(...)
	local name = cluster.db()
	return name, db_call_at(name, ...)
end

local function db_pairs(stats)
	local list = {}
	for k, v in pairs(stats.cache or {}) do
		list[#list + 1] = { "cache." .. k, v }
	end
	table.sort(list, function(a, b) return a[1] < b[1] end)
	for _, k in ipairs({ "commits", "rows", "commit_us", "checkpoints" }) do
		list[#list + 1] = { k, stats[k] }
	end
	return list
end

commands.db = {
	usage = "db [NODE]",
	help = "each db node's counters (or NODE's): cache hits and misses, "
		.. "commits, checkpoints",
	target = "here",
	run = function(args)
		local names = args[1] and { args[1] } or cluster.names("db")
		local nodes = {}
		for i, name in ipairs(names) do
			local ok, stats = pcall(db_call_at, name, "stats")
			nodes[i] = { node = name, db = ok and stats or nil,
				error = not ok and stats or nil }
		end
		return { nodes = nodes }
	end,
	text = function(r)
		local out = {}
		for _, n in ipairs(r.nodes) do
			out[#out + 1] = "node " .. n.node .. (n.error and ": " .. n.error
				or "\n" .. text.pairs(db_pairs(n.db)))
		end
		return table.concat(out, "\n")
	end,
}

commands["reload-static"] = {
	usage = "reload-static TABLE",
	help = "read a static table of the db again",
	target = "here",
	run = function(args)
		local name = args[1] or usage("reload-static")
		local node, rows = db_call("reload", name)
		return { node = node, table = name, rows = rows }
	end,
	text = function(r)
		return format("reloaded %s on %s: %s rows", r.table, r.node,
			tostring(r.rows))
	end,
}

-- The services the console must not kill: those its node cannot run
-- without, and itself, which answers this very command.
local function killable(s)
	if s.handle == wisp.self() then
		return "it is the console"
	elseif s.module == "logger" or s.module == "harbor" then
		return "the node cannot run without its " .. s.module
	end
end

commands.kill = {
	usage = "kill NODE ADDRESS",
	help = "end a service (ADDRESS: :0040000a, or a name)",
	target = "one",
	run = function(args)
		local s = find_service(args[1] or usage("kill"))
		local why = killable(s)
		if why then
			error(format("will not kill %s: %s", s.address, why), 0)
		end
		wisp.kill(s.handle)
		wisp.log(format("console: killed %s (%s)", s.address, label(s)))
		return { killed = s.address, module = s.module, script = s.script }
	end,
	text = function(r)
		return format("killed %s (%s)", r.killed, r.script or r.module)
	end,
}

-- "lua SCRIPT ARGS", a script on the lua path, or a C module.
local function launch_spec(args)
	local what = args[1] or usage("start")
	local rest = concat(args, " ", 2)
	if what == "lua" then
		return "lua", rest
	end
	if package.searchpath(what, package.path) then
		return "lua", rest ~= "" and what .. " " .. rest or what
	end
	return what, rest
end

commands.start = {
	usage = "start NODE SCRIPT_OR_MODULE [ARGS...]",
	help = "start a Lua script or a C module",
	target = "one",
	run = function(args)
		local module, margs = launch_spec(args)
		local handle = admin.launch(module, margs)
		local script = module == "lua" and margs:match("^%S+") or nil
		wisp.log(format("console: started %s %s as %s", module, margs,
			wisp.address(handle)))
		return { started = wisp.address(handle), module = module,
			script = script }
	end,
	text = function(r)
		return format("started %s (%s)", r.started, r.script or r.module)
	end,
}

commands.top = {
	usage = "top NODE|all [COUNT]",
	help = "each node's CPU and memory, and its busiest services: "
		.. "messages/s, mailbox, CPU, memory (wisp-ctl top refreshes it)",
	target = "required",
	run = top.run,
	text = top.text,
}

commands.gc = {
	usage = "gc NODE|all [ADDRESS]",
	help = "a full garbage collection in one Lua service or in all",
	target = "required",
	run = function(args)
		return { results = system_all(lua_services(args[1]), "gc") }
	end,
	text = results_text,
}

-- The Lua services running script, or all but the runtime's own.
local function reload_targets(script)
	local out = {}
	for _, s in ipairs(lua_services()) do
		if s.script == script or (script == nil and not s.runtime) then
			out[#out + 1] = s
		end
	end
	return out
end

commands.reload = {
	usage = "reload NODE|all [SCRIPT]",
	help = "hot update of the Lua services' code (all, or those running SCRIPT)",
	target = "required",
	run = function(args)
		return { results = system_all(reload_targets(args[1]), "reload") }
	end,
	text = function(r)
		if #r.results == 0 then
			return "no Lua service to reload"
		end
		return results_text(r)
	end,
	-- nothing to reload on every node: the script was misnamed
	empty = function(r, args)
		return args[1] and #r.results == 0
			and "no Lua service runs " .. args[1]
	end,
	-- the services whose update failed: the reply is then an error
	failures = function(r)
		local n = 0
		for _, x in ipairs(r.results) do
			n = n + (x.error and 1 or 0)
		end
		return n
	end,
}

commands.log = {
	usage = "log NODE|all [LEVEL]",
	help = "show or set the log level (debug, info, warn, error)",
	target = "required",
	run = function(args)
		local was = admin.log_level()
		if args[1] == nil then
			return { level = was }
		end
		local level = admin.log_level(args[1])
		wisp.log(format("console: log level %s (was %s)", level, was))
		return { level = level, was = was }
	end,
	text = function(r)
		if r.was then
			return format("log level %s (was %s)", r.level, r.was)
		end
		return "log level " .. r.level
	end,
}

commands.stop = {
	usage = "stop NODE|all",
	help = "stop the node in order, after answering",
	target = "required",
	run = function()
		wisp.log("console: stopping the node")
		wisp.timeout(STOP_DELAY_MS, function() wisp.shutdown(0) end)
		return { stopping = true }
	end,
	text = function(r)
		return "stopping " .. r.node
	end,
}

commands.trace = {
	usage = "trace [NODE] ID",
	help = "a trace's path, spans and log lines from every node, in time order",
	target = "every",
	run = function(args)
		return trace.here(args[1])
	end,
	merge = trace.text,
}

commands.help = {
	usage = "help",
	help = "this list",
	target = "here",
	run = function()
		local names = {}
		for name in pairs(commands) do
			names[#names + 1] = name
		end
		table.sort(names)
		local list = {}
		for i, name in ipairs(names) do
			list[i] = { usage = commands[name].usage, help = commands[name].help }
		end
		return { commands = list }
	end,
	text = function(r)
		local list = {}
		for i, c in ipairs(r.commands) do
			list[i] = { c.usage, c.help }
		end
		return text.pairs(list) .. "\nAdd --json for a reply in JSON; "
			.. "quit ends the session."
	end,
}

return commands
