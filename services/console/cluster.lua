-- console/cluster.lua: what the console knows of the cluster's nodes, from
-- the config (wisp.nodes): their names, which one this is, which has the
-- db role and how its db service is addressed from here.
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

-- The db node's name and the address of its db service from here.
function cluster.db()
	local name = cluster.names("db")[1]
	if not name then
		error("no node of the config has the db role", 0)
	end
	return name, name == cluster.self() and "db" or "db@" .. name
end

return cluster
