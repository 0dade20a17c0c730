-- fuzz_console.lua: the console's line protocol on an input (run by
-- fuzz_lua.c): the input's first byte says whether a token is set and
-- whether the connection is admitted, the second seeds the sizes of the
-- chunks the socket hands out, the rest is what the operator sends.
-- console/session.lua serves it with console/lines.lua reading and
-- console/run.lua's run.plan parsing each command line (no command
-- runs); every line must end in a reply frame, every plan in a plan or
-- an error string, and the reader must keep to its bound.
local stubs = require "lua_stubs"
local lines = require "console.lines"
local run = require "console.run"
local session = require "console.session"

local failures = {}

local function check_plan(plan, why)
	if plan == nil then
		assert(type(why) == "string" and why ~= "", "a plan refused without why")
		return
	end
	assert(type(plan.spec) == "table" and type(plan.args) == "table",
		"a plan without its command or arguments")
	assert(#plan.nodes > 0, "a plan for no node")
	for _, node in ipairs(plan.nodes) do
		assert(stubs.known[node], "a plan for an unknown node")
	end
	for _, a in ipairs(plan.args) do
		assert(type(a) == "string" and a:find("^%S+$") and a ~= "--json",
			"an argument that is not a word")
	end
end

-- run.line as the session calls it: run.plan only, its errors recorded.
run.line = function(line)
	local ok, plan, why = pcall(run.plan, line)
	if not ok then
		failures[#failures + 1] = "run.plan raised: " .. tostring(plan)
		error(plan, 0)
	end
	local checked, err = pcall(check_plan, plan, why)
	if not checked then
		failures[#failures + 1] = err
	end
	if not plan then
		error(why, 0)
	end
	return "planned " .. plan.name
end

-- Every reply is dot-stuffed lines and a lone "." at the end.
local function check_frame(reply)
	assert(reply:sub(-2) == ".\n", "a reply without its end")
	local body = reply:sub(1, -3)
	for line in body:gmatch("([^\n]*)\n") do
		assert(line:sub(1, 1) ~= "." or line:sub(1, 2) == "..",
			"a reply line starting with a lone dot")
	end
end

return function(data)
	local flags, _, restore = stubs.start(data, lines)
	failures = {}
	local ok, err = pcall(session.serve, stubs.connection(flags & 2 == 0))
	restore()
	assert(ok, err)
	assert(#failures == 0, failures[1])
	for _, reply in ipairs(stubs.written) do
		check_frame(reply)
	end
end
