-- front.lua: the net node's service of test_client_contract.c: an echo,
-- a handler returning whatever type its body names, a sleep, and one that
-- raises.
local wisp = require "wisp"

local ECHO, RETURN, SLEEP, FAIL = 1, 2, 3, 4

local returns = {
	string = function() return "a string" end,
	integer = function() return 42 end,
	float = function() return 1.5 end,
	["nil"] = function() return nil end,
	table = function() return {} end,
	boolean = function() return true end,
	error = function() error("front raised on purpose") end,
	huge = function() return string.rep("x", 70000) end, -- > gate.max_body
}

wisp.start(function()
	wisp.register("front")
	wisp.command(ECHO, function(_, body) return body end)
	wisp.command(RETURN, function(_, body)
		return assert(returns[body], "no such type")()
	end)
	wisp.command(SLEEP, function(_, body)
		wisp.sleep(tonumber(body))
		return body
	end)
	wisp.command(FAIL, function(_, body)
		error("front failed on purpose: " .. body)
	end)
	wisp.log("READY front")
end)
