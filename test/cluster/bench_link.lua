-- bench_link.lua: node A of harbor_handshake_ms (bench_harbor.c): one
-- call to the counter on B, so that links come up every way (A and B with
-- each other and with the root), then a moment for the last of them, and
-- the node stops.
local wisp = require "wisp"

wisp.start(function()
	wisp.fork(function()
		wisp.call("counter@game2", "whoami")
		wisp.sleep(300)
		wisp.shutdown(0)
	end)
end)
