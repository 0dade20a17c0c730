-- console/auth.lua: who may drive the console. Operators and scrapes
-- show the console token (console/session.lua, console/http.lua); a
-- request forwarded from another node's console (console/run.lua) must
-- carry the token too, when one is set, and come from that node's
-- console: any node of the cluster can send any service a message, but
-- only a console, which has checked its operator, may have one run here.
local wisp = require "wisp"

local format = string.format

local WHOAMI_MS = 5000 -- the sender's console, asked who it is
local LOCAL_BITS = 22  -- a handle's node is above them (proto/HARBOR.md)

local auth = {}

local token -- the config's console_token, nil when there is none

function auth.set_token(t)
	token = t
end

-- The token to send with a forwarded request (nil: none is set).
function auth.token()
	return token
end

-- Compares all of a and b, whatever differs first: how long the check
-- takes tells nothing of the token.
function auth.same(a, b)
	if type(a) ~= "string" or type(b) ~= "string" or #a ~= #b then
		return false
	end
	local diff = 0
	for i = 1, #a do
		diff = diff | (a:byte(i) ~ b:byte(i))
	end
	return diff == 0
end

-- Whether given is the token; true when none is set.
function auth.token_ok(given)
	return token == nil or auth.same(given, token)
end

local nodes_by_id -- the config's nodes: they do not change while it runs

-- The node of handle ({ name, self }), or nil when the config has none.
local function node_of(handle)
	if not nodes_by_id then
		nodes_by_id = {}
		for _, node in ipairs(wisp.nodes()) do
			nodes_by_id[node.id] = { name = node.name, self = node.self }
		end
	end
	return nodes_by_id[handle >> LOCAL_BITS]
end

-- Whether source is a service of this node.
function auth.local_source(source)
	local node = node_of(source)
	return node ~= nil and node.self
end

-- Whether source, of node, is the console there. Asked of the service
-- that holds the name "console" on that node, which the node starts
-- (services/builtin.c) before the services of its config, and which no
-- other can take while it runs: its answer is its handle (a Lua service
-- cannot send an answer of its own making: wisp.rawsend refuses the
-- types). A node of the cluster could lie, but it holds the secret and
-- could run a console of its own; what this stops is any other service
-- of an honest node (a game script a client found a way to steer)
-- reaching the consoles of the others.
local function from_console(source, node)
	if node == nil or node.self then -- a console forwards only elsewhere
		return false
	end
	local ok, handle = pcall(wisp.call_timeout, WHOAMI_MS,
		"console@" .. node.name, "whoami")
	return ok and handle == source
end

-- Nil when a forwarded request from source with given (the token it
-- carried) may run here; else why not, said in the log too.
function auth.refuse_forwarded(source, given)
	local node, why = node_of(source), nil
	if not auth.token_ok(given) then
		why = "without the console token"
	elseif not from_console(source, node) then
		why = "not from the console of its node"
	end
	if why then
		-- flood control holds this line to a few a second (log.c)
		wisp.log_warn(format("console: refused a request from %s (node %s): "
			.. "%s", wisp.address(source), node and node.name or "?", why))
	end
	return why
end

return auth
