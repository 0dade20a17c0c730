-- console/json.lua: the JSON encoder of the console's --json replies.
-- Strings are escaped as RFC 8259 asks (bytes that are not UTF-8 are read
-- as Latin-1, so that the output always is); integers print as integers,
-- floats with enough digits to read back the same (NaN and infinities,
-- which JSON lacks, as null); a table whose keys are exactly 1..n is an
-- array, any other an object with its keys sorted. An empty table is an
-- empty array, unless json.object marked it.
local json = {}

local format, concat, sort = string.format, table.concat, table.sort
local math_type, huge = math.type, math.huge

local MAX_DEPTH = 64

local object_mark = {}

-- t, marked to encode as an object even when empty.
function json.object(t)
	return setmetatable(t or {}, object_mark)
end

local escapes = {
	['"'] = '\\"', ["\\"] = "\\\\", ["\b"] = "\\b", ["\f"] = "\\f",
	["\n"] = "\\n", ["\r"] = "\\r", ["\t"] = "\\t",
}

local function escape_byte(c)
	return escapes[c] or format("\\u%04x", c:byte())
end

local function encode_string(s)
	if not utf8.len(s) then
		s = s:gsub("[\128-\255]", function(c)
			return utf8.char(c:byte())
		end)
	end
	return '"' .. s:gsub('[%c"\\]', escape_byte) .. '"'
end

local function encode_number(n)
	if math_type(n) == "integer" then
		return format("%d", n)
	end
	if n ~= n or n == huge or n == -huge then
		return "null"
	end
	local s = format("%.14g", n)
	if tonumber(s) ~= n then
		s = format("%.17g", n)
	end
	return s
end

-- n when t's keys are exactly 1..n, else nil.
local function array_length(t)
	local n = #t
	local count = 0
	for _ in pairs(t) do
		count = count + 1
		if count > n then
			return nil
		end
	end
	if n == 0 and getmetatable(t) == object_mark then
		return nil
	end
	return n
end

local encode

local function encode_array(t, n, depth)
	local parts = {}
	for i = 1, n do
		parts[i] = encode(t[i], depth)
	end
	return "[" .. concat(parts, ",") .. "]"
end

local function encode_object(t, depth)
	local keys = {}
	for k in pairs(t) do
		keys[#keys + 1] = tostring(k)
	end
	sort(keys)
	local parts = {}
	for i, k in ipairs(keys) do
		local v = t[k]
		if v == nil then -- a key that was not a string
			v = t[tonumber(k)]
		end
		parts[i] = encode_string(k) .. ":" .. encode(v, depth)
	end
	return "{" .. concat(parts, ",") .. "}"
end

encode = function(v, depth)
	local kind = type(v)
	if kind == "string" then
		return encode_string(v)
	elseif kind == "number" then
		return encode_number(v)
	elseif kind == "boolean" then
		return v and "true" or "false"
	elseif kind == "nil" then
		return "null"
	elseif kind ~= "table" then
		error("json: cannot encode a " .. kind, 0)
	end
	if depth >= MAX_DEPTH then
		error("json: tables nested deeper than " .. MAX_DEPTH, 0)
	end
	local n = array_length(v)
	if n then
		return encode_array(v, n, depth + 1)
	end
	return encode_object(v, depth + 1)
end

function json.encode(v)
	return encode(v, 0)
end

return json
