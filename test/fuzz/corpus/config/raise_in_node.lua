return { nodes = { a = setmetatable({ id = 1, roles = {'net','db'}, log_file='x', env={a='b'}, services={'echo x'} }, { __index = function(_, k) error("no " .. k) end }) } }
