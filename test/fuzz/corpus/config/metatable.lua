return setmetatable({ nodes = { a = { id = 1 } } },
	{ __index = function(_, k) error("no " .. k) end })
