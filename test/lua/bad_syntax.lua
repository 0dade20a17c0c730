-- bad_syntax.lua: a script that does not compile.
local x = = 1
