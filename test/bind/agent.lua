-- agent.lua: one client's agent, started by spawner.lua and bound to the
-- client by login.lua: its frames come here straight from the gate. ECHO
-- (and 11..29) answer "agent BODY UID NAME N" from the session that comes
-- with each frame, N the frames this agent served; UNBIND lets go of the
-- client; EXIT exits. On its disconnect it logs and exits.
local wisp = require "wisp"

local UNBIND, EXIT = 30, 31
local served = 0

local function echo(_, body, session)
	served = served + 1
	return ("agent %s %d %s %d"):format(body, session.uid, session.name,
		served)
end

wisp.start(function()
	for id = 10, 29 do
		wisp.command(id, echo)
	end
	wisp.command(UNBIND, function(conn)
		wisp.unbind(conn)
		return "unbound"
	end)
	-- answers, then exits: the client stays bound to a service gone
	wisp.command(EXIT, function()
		wisp.timeout(0, wisp.exit)
		return "bye"
	end)
	wisp.on_disconnect(function(conn, reason)
		wisp.log(("AGENT_DISCONNECT %d %s"):format(conn, reason))
		wisp.exit()
	end)
end)
