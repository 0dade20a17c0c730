-- control.lua: command 9 of test_hot_update.c, which is never reloaded
-- itself. Body "reload": asks game to reload (wisp.admin.system) and
-- answers "ok: ANSWER", or "err: ERROR" with what the reload raised.
local wisp = require "wisp"
local admin = require "wisp.admin"

local CONTROL = 9

local function control(_, body)
	if body ~= "reload" then
		return "err: unknown request '" .. body .. "'"
	end
	local ok, answer = pcall(admin.system, "game", "reload")
	return (ok and "ok: " or "err: ") .. tostring(answer)
end

wisp.start(function()
	wisp.register("control")
	wisp.command(CONTROL, control)
	wisp.log("control: started")
end)
