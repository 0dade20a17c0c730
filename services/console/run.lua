-- console/run.lua: a command line from start to reply: the words, the
-- nodes it is for, the work (here, or forwarded to the console of each
-- node with wisp.call("console@NODE")), and the reply, for people or in
-- JSON. Forwarded commands arrive here too, through run.here.
local wisp = require "wisp"
local cluster = require "wisp.cluster"
local auth = require "console.auth"
local commands = require "console.commands"
local json = require "console.json"
local trace = require "console.trace"

local concat, format = table.concat, string.format

local FORWARD_MS = 15000 -- a command on another node, all its work included

local run = {}

-- Runs command name on this node: its values, or an error.
function run.here(name, args)
	local spec = commands[name]
	if not spec then
		error(format("unknown command '%s' (try help)", tostring(name)), 0)
	end
	wisp.log_debug(format("console: %s %s", name, concat(args, " ")))
	return spec.run(args)
end

-- An error as an operator should read it: without the position in the
-- console's code, and a failed call by its reason ("call to console@net
-- failed: node net is down" -> "node net is down").
local function reason(err)
	err = tostring(err):gsub("^[%w_./-]+%.lua:%d+: ", "")
	err = err:gsub("^call to (console@%S+) failed: ", "")
	return (err:gsub("^call to (console@%S+) ", "%1 "))
end

-- { node = name, data = values } or { node = name, error = text }. The
-- console there wants the token too (console/auth.lua).
local function on_node(node, name, args)
	local ok, data
	if node == cluster.self() then
		ok, data = pcall(run.here, name, args)
	else
		local called, a, b = pcall(wisp.call_timeout, FORWARD_MS,
			"console@" .. node, "run", name, args, auth.token())
		ok, data = a, b
		if not called then
			ok, data = false, a
		end
	end
	if ok then
		data.node = data.node or node
		return { node = node, data = data }
	end
	return { node = node, error = reason(data) }
end

-- on_node for each node at once: the slowest node sets the time taken.
local function on_nodes(nodes, name, args)
	local results, left, waiter = {}, #nodes, coroutine.running()
	for i, node in ipairs(nodes) do
		wisp.fork(function()
			results[i] = on_node(node, name, args)
			left = left - 1
			if left == 0 then
				wisp.wakeup(waiter)
			end
		end)
	end
	while left > 0 do
		wisp.wait()
	end
	return results
end

-- The nodes the words ask for, and the words left for the command.
local function targets(name, spec, words)
	local first = words[1]
	local rest = table.move(words, 2, #words, 1, {})
	if spec.target == "every" then
		if first and first ~= "all" and cluster.exists(first) then
			return { first }, rest, true
		end
		return cluster.names(spec.roles), first == "all" and rest or words, true
	end
	if spec.target == "here" then
		return { cluster.self() }, words, false
	end
	if first == "all" and spec.target ~= "one" then
		return cluster.names(spec.roles), rest, true
	end
	if first and cluster.exists(first) then
		return { first }, rest, false
	end
	if spec.target == "optional" and first == nil then
		return { cluster.self() }, words, false
	end
	error(format("%s: no node named '%s' (usage: %s)", name,
		tostring(first), spec.usage), 0)
end

-- Splits a line into words; takes --json out.
local function parse(line)
	local words, want_json = {}, false
	for word in line:gmatch("%S+") do
		if word == "--json" then
			want_json = true
		else
			words[#words + 1] = word
		end
	end
	return words, want_json
end

local function render_text(spec, results, many)
	if spec.merge then
		return spec.merge(results)
	end
	if not many then
		return spec.text(results[1].data)
	end
	local parts = {}
	for i, r in ipairs(results) do
		local body = r.error and "error: " .. r.error or spec.text(r.data)
		parts[i] = "== " .. r.node .. " ==\n" .. body
	end
	return concat(parts, "\n\n")
end

local function render_json(results, many)
	if not many then
		return json.encode(results[1].data)
	end
	local list = {}
	for i, r in ipairs(results) do
		list[i] = r.data or { node = r.node, error = r.error }
	end
	return json.encode(list)
end

-- Raises when no node did anything the command could find to do.
local function check_empty(spec, results, args)
	if not spec.empty then
		return
	end
	local why
	for _, r in ipairs(results) do
		if r.error then
			return
		end
		why = spec.empty(r.data, args)
		if not why then
			return
		end
	end
	error(why, 0)
end

-- What failed of a command that acts on many services (a reload): the
-- whole reply becomes an error, so that a script sees a non-zero exit,
-- and still shows what went right. A node that did not answer counts.
local function check_failures(name, spec, results, reply)
	if not spec.failures then
		return reply
	end
	local failed = 0
	for _, r in ipairs(results) do
		failed = failed + (r.error and 1 or spec.failures(r.data))
	end
	if failed == 0 then
		return reply
	end
	error(format("%s: %d failed\n%s", name, failed, reply), 0)
end

-- A call slower than slow_call_ms, as its caller's node reported it
-- (services/lua/ltrace.c): logged once, with the path its trace took,
-- gathered from every node. A few are gathered at once; past that they
-- are counted, and the count is said in the next line.
local SLOW_AT_ONCE = 4
local slow = { gathering = 0, skipped = 0 }

function run.slow(target, ms, id)
	if type(id) ~= "string" or type(ms) ~= "number" then
		return
	end
	if slow.gathering >= SLOW_AT_ONCE then
		slow.skipped = slow.skipped + 1
		return
	end
	slow.gathering = slow.gathering + 1
	local ok, results = pcall(on_nodes, cluster.names(), "trace", { id })
	slow.gathering = slow.gathering - 1
	local skipped = slow.skipped > 0
		and format(" (%d more slow calls not shown)", slow.skipped) or ""
	slow.skipped = 0
	wisp.log_warn(format("slow call to %s: %.2f ms, trace %s: %s%s",
		(tostring(target):gsub("%c", "?")), ms, id,
		ok and trace.path(results) or reason(results), skipped))
end

-- What a command line asks, before any work: { name, spec, nodes, args,
-- many, json }, or nil and why not. Parsing only (test/fuzz/fuzz_console).
function run.plan(line)
	local words, want_json = parse(line)
	local name = table.remove(words, 1)
	local spec = commands[name]
	if not spec then
		return nil, format("unknown command '%s' (try help)", tostring(name))
	end
	local ok, nodes, args, many = pcall(targets, name, spec, words)
	if not ok then
		return nil, nodes
	end
	if #nodes == 0 then
		return nil, name .. ": no node to run it on"
	end
	return { name = name, spec = spec, nodes = nodes, args = args,
		many = many, json = want_json }
end

-- The reply to a command line: its text, or an error raised.
function run.line(line)
	local plan, why = run.plan(line)
	if not plan then
		error(why, 0)
	end
	local name, spec, nodes, args, many = plan.name, plan.spec, plan.nodes,
		plan.args, plan.many
	local want_json = plan.json
	local results = many and on_nodes(nodes, name, args)
		or { on_node(nodes[1], name, args) }
	if not many and results[1].error then
		error(results[1].error, 0)
	end
	check_empty(spec, results, args)
	local reply = want_json and render_json(results, many)
		or render_text(spec, results, many)
	return check_failures(name, spec, results, reply)
end

return run
