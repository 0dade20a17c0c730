-- peer_cases.lua: the cases of the authority test, run on peer, a node
-- of the cluster that is not a root: its usurper (usurper.c) gives
-- directory commands to game1 and the root, and this service sends
-- console requests to game1's console, without the token, or with it but
-- not from a console. Each is refused; test_authority.c checks that the
-- refusals are logged (ask_driver), and the cases that nothing changed.
local wisp = require "wisp"
local testing = require "testing"

local TOKEN = wisp.getenv("token")
local CONSOLE_FLOOD = 500

local told -- what the usurper answered
wisp.dispatch("text", function(_, text)
	told = text
end)

-- game1's view: game2 up, and the service "holder" reaches there.
local function game1_view()
	return wisp.call("probe@game1", "view")
end

testing.case("the cluster is up, holder named", function()
	testing.wait_for("game1 and game2 up", 20000, function()
		local up = {}
		for _, node in ipairs(wisp.nodes()) do
			up[node.name] = node.up
		end
		return up.game1 and up.game2
	end)
	testing.wait_for("the name holder", 20000, function()
		return wisp.query("holder")
	end)
	local up, holder = game1_view()
	testing.eq(up, true, "game2 up on game1")
	testing.eq(holder, wisp.query("holder"), "holder on game1")
end)

testing.case("directory commands from a node that is not the root", function()
	local holder = wisp.query("holder")
	wisp.rawsend("usurper", "text", string.format("go %08x", holder))
	testing.wait_for("the usurper's answer", 20000, function()
		return told
	end)
	testing.eq(told, "sent", "the claim through game1")
	-- the driver has seen game1 and the root log their refusals
	testing.ask_driver("PEER FORGED", "forged_checked")
	local up, held = game1_view()
	testing.eq(up, true, "game2 up on game1")
	testing.eq(held, holder, "holder on game1")
	testing.eq(wisp.query("holder"), holder, "holder here (from the root)")
	testing.eq(wisp.call("holder", "whoami"), holder, "holder answers")
end)

local function refused(why, ...)
	testing.raises("console: refused: " .. why, wisp.call, "console@game1",
		"run", ...)
end

testing.case("console requests without the token or a console", function()
	refused("without the console token", "log", { "debug" })
	refused("without the console token", "stop", {})
	refused("without the console token", "log", { "debug" }, "wrong token")
	refused("not from the console of its node", "log", { "debug" }, TOKEN)
	refused("not from the console of its node", "stop", {}, TOKEN)
	refused("not from the console of its node", "kill", { "probe" }, TOKEN)
	for _ = 1, CONSOLE_FLOOD do -- no answer wanted: for the log's sake
		wisp.send("console@game1", "run", "log", { "debug" })
	end
	-- the driver has seen game1 log them, at the level it had, running
	testing.ask_driver("PEER CONSOLE DONE", "console_checked")
	local up = game1_view()
	testing.eq(up, true, "game1 answers, game2 up there")
end)

testing.run()
