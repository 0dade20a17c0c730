-- test_spawn.lua: 100,000 services started and stopped leave no leak:
-- the node's resident memory ends near where it began.
local wisp = require "wisp"
local t = require "testing"

local function rss_kb()
	local f = assert(io.open("/proc/self/statm"))
	local _, resident = f:read("n", "n")
	f:close()
	return resident * 4
end

local function churn(n)
	for _ = 1, n do
		local h = wisp.newservice("idle")
		wisp.kill(h)
	end
	wisp.sleep(10) -- let the killed ones be retired
end

t.case("100,000 services started and stopped", function()
	churn(2000) -- warm up: caches, pools, the allocator's arenas
	local before = rss_kb()
	local started = wisp.now()
	churn(100000)
	local after = rss_kb()
	wisp.log(string.format("100000 services in %d ms; rss %d KB -> %d KB",
		wisp.now() - started, before, after))
	if os.getenv("WISP_SANITIZED") == "1" then
		return -- ASan holds freed memory back; LeakSanitizer checks leaks
	end
	t.ok(after - before < 8 * 1024, "rss grew by " .. (after - before) .. " KB")
end)

t.run()
