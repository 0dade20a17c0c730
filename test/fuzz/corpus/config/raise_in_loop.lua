while true do pcall(function() while t|ul do end end) end
