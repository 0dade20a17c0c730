-- wisp/cluster.lua: the cluster's nodes as the config declares them
-- (wisp.nodes): their names in id order, their roles, which one this is,
-- and how a service on one of them is addressed from here. Used by the db
-- library and the console.
local wisp = require "wisp"

local cluster = {}

local nodes -- the config's nodes: they do not change while the node runs

local function load()
	if not nodes then
		nodes = wisp.nodes()
		table.sort(nodes, function(a, b) return a.id < b.id end)
	end
	return nodes
end

function cluster.has_role(node, role)
	for _, r in ipairs(node.roles) do
		if r == role then
			return true
		end
	end
	return false
end

-- This node's name.
function cluster.self()
	for _, node in ipairs(load()) do
		if node.self then
			return node.name
		end
	end
	return "?"
end

function cluster.exists(name)
	for _, node in ipairs(load()) do
		if node.name == name then
			return true
		end
	end
	return false
end

-- The names of every node, or of those with role, in id order.
function cluster.names(role)
	local out = {}
	for _, node in ipairs(load()) do
		if role == nil or cluster.has_role(node, role) then
			out[#out + 1] = node.name
		end
	end
	return out
end

-- How service (a local name) on node is addressed from here: "service"
-- on this node, "service@node" elsewhere.
function cluster.address(service, node)
	return node == cluster.self() and service or service .. "@" .. node
end

-- The db node's name and the address of its db service from here.
function cluster.db()
	local name = cluster.names("db")[1]
	if not name then
		error("no node of the config has the db role", 0)
	end
	return name, cluster.address("db", name)
end

return cluster
