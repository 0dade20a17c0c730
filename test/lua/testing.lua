-- testing.lua: the harness of the Lua tests. Cases run in order in a task
-- forked once the test service has started (so messages to itself are
-- served meanwhile); they may call, sleep and wait. The end
-- prints "lua tests: N passed, N failed" and stops the node with exit code
-- 0 only if nothing failed.
local wisp = require "wisp"

local testing = {}
local cases = {}

function testing.case(name, fn)
	cases[#cases + 1] = { name = name, fn = fn }
end

local function show(v)
	if type(v) == "string" then
		return string.format("%q", v)
	end
	return tostring(v)
end

function testing.eq(got, want, what)
	if got ~= want then
		error(string.format("%s: got %s, want %s", what or "value", show(got),
			show(want)), 2)
	end
end

function testing.ok(cond, what)
	if not cond then
		error((what or "condition") .. " is false", 2)
	end
end

-- Calls fn, which must fail with a message matching pattern.
function testing.raises(pattern, fn, ...)
	local ok, err = pcall(fn, ...)
	if ok then
		error("no error raised; want one matching '" .. pattern .. "'", 2)
	end
	if not tostring(err):find(pattern) then
		error(string.format("error %s does not match '%s'", show(err), pattern), 2)
	end
	return err
end

-- Polls fn until it returns a true value (which it returns), for at most
-- ms; then raises, naming what it waited for.
function testing.wait_for(what, ms, fn)
	local deadline = wisp.now() + ms
	while true do
		local v = fn()
		if v then
			return v
		end
		if wisp.now() > deadline then
			error("timed out after " .. ms .. " ms waiting for " .. what, 2)
		end
		wisp.sleep(20)
	end
end

-- For multi-node tests: logs marker for the test driver, then waits up
-- to 10 s for the driver to answer by creating file in the directory
-- that the config's env calls "gate".
function testing.ask_driver(marker, file)
	local path = wisp.getenv("gate") .. "/" .. file
	wisp.log(marker)
	testing.wait_for("the driver's " .. path, 10000, function()
		local f = io.open(path)
		return f and f:close()
	end)
end

-- A case that overruns the handler budget is interrupted for good (its
-- whole task ends), so each case runs in a task of its own, and one that
-- never reports back fails after CASE_LIMIT_MS instead of hanging the run.
local CASE_LIMIT_MS = 60000

local function run_case(c)
	local me, result = coroutine.running(), nil
	local function finish(ok, err)
		if result == nil then
			result = { ok = ok, err = err }
			wisp.wakeup(me)
		end
	end
	wisp.fork(function()
		finish(xpcall(c.fn, debug.traceback))
	end)
	wisp.timeout(CASE_LIMIT_MS, function()
		finish(false, "did not finish (interrupted, or waiting) within "
			.. CASE_LIMIT_MS .. " ms")
	end)
	while result == nil do
		wisp.wait()
	end
	return result.ok, result.err
end

local function run_cases()
	local passed, failed = 0, 0
	for _, c in ipairs(cases) do
		local ok, err = run_case(c)
		if ok then
			passed = passed + 1
		else
			failed = failed + 1
			wisp.log_error("FAIL " .. c.name .. ": " .. tostring(err))
		end
	end
	wisp.log(string.format("lua tests: %d passed, %d failed", passed, failed))
	wisp.shutdown(failed == 0 and 0 or 1)
end

function testing.run()
	wisp.start(function()
		wisp.fork(run_cases)
	end)
end

return testing
