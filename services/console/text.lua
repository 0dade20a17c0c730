-- console/text.lua: the console's replies for people: tables in aligned
-- columns (numbers to the right, text to the left) and lists of
-- "key  value" lines, and the short forms of sizes and times they show.
local text = {}

local format, rep, concat = string.format, string.rep, table.concat

local function cell(v)
	if v == nil then
		return "-"
	elseif v == true then
		return "yes"
	elseif v == false then
		return "no"
	elseif math.type(v) == "float" then
		return format("%.1f", v)
	end
	return tostring(v)
end

-- Renders rows (lists of values) under headers; a column whose values
-- are all numbers, or whose index is in right, is aligned to the right.
function text.table(headers, rows, right)
	local widths, numeric = {}, {}
	for c, h in ipairs(headers) do
		widths[c], numeric[c] = #h, true
	end
	local cells = {}
	for r, row in ipairs(rows) do
		cells[r] = {}
		for c = 1, #headers do
			local s = cell(row[c])
			cells[r][c] = s
			widths[c] = math.max(widths[c], #s)
			numeric[c] = numeric[c] and (type(row[c]) == "number"
				or row[c] == nil)
		end
	end
	local function line(values)
		local parts = {}
		for c, s in ipairs(values) do
			local pad = rep(" ", widths[c] - #s)
			local to_right = numeric[c] or (right and right[c])
			parts[c] = to_right and pad .. s or s .. pad
		end
		return (concat(parts, "  "):gsub("%s+$", ""))
	end
	local out = { line(headers) }
	for r = 1, #cells do
		out[r + 1] = line(cells[r])
	end
	return concat(out, "\n")
end

-- Renders pairs ({ key, value } each) as aligned "key  value" lines.
function text.pairs(list)
	local width = 0
	for _, p in ipairs(list) do
		width = math.max(width, #p[1])
	end
	local out = {}
	for i, p in ipairs(list) do
		out[i] = p[1] .. rep(" ", width - #p[1] + 2) .. cell(p[2])
	end
	return concat(out, "\n")
end

-- 1536 -> "1.5K": bytes for a column.
function text.bytes(n)
	if type(n) ~= "number" then
		return n
	end
	local units = { "K", "M", "G", "T" }
	if n < 1024 then
		return format("%d", n)
	end
	local u = 0
	repeat
		n, u = n / 1024, u + 1
	until n < 1024 or u == #units
	return format(n < 10 and "%.1f%s" or "%.0f%s", n, units[u])
end

return text
