-- fuzz_http.lua: the metrics endpoint's HTTP (console/http.lua) on an
-- input (run by fuzz_lua.c): the input's first byte says whether a token
-- is set, whether the connection is admitted and whether the metrics
-- fail, the second seeds the sizes of the chunks the socket hands out,
-- the rest is the request. console/lines.lua must keep to its bound, and
-- the answer must be one whole response: a status the endpoint gives, a
-- Content-Length that is the body's, 200 only for GET or HEAD /metrics
-- with the token when one is set.
local stubs = require "lua_stubs"
local http = require "console.http"
local lines = require "console.lines"

local BODY = "wisp_up 1\n"
local STATUS = { [200] = true, [400] = true, [401] = true, [404] = true,
	[405] = true, [500] = true }

local function check_response(reply, request, flags)
	local status, rest = reply:match("^HTTP/1%.1 (%d+) [%a ]+\r\n(.*)$")
	status = tonumber(status)
	assert(status and STATUS[status], "a response without a known status")
	local length = rest:match("Content%-Length: (%d+)\r\n")
	local head_end = rest:find("\r\n\r\n", 1, true)
	assert(length and head_end, "a response without its length or head")
	local body = rest:sub(head_end + 4)
	local head_only = request:match("^HEAD ") ~= nil
	assert(head_only and body == "" or #body == tonumber(length),
		"a Content-Length that is not the body's")
	if status == 200 then
		assert(request:match("^GET /metrics") or request:match("^HEAD /metrics"),
			"200 for another request")
		assert(flags & 4 == 0, "200 when the metrics failed")
		assert(flags & 1 == 0 or request:find("Bearer " .. stubs.TOKEN, 1, true),
			"200 without the token")
		assert(head_only or body == BODY, "200 with another body")
	end
end

return function(data)
	local flags, stream, restore = stubs.start(data, lines)
	local render = function()
		if flags & 4 ~= 0 then
			error("metrics failed")
		end
		return BODY
	end
	local ok, err = pcall(http.serve, stubs.connection(flags & 2 == 0), render)
	restore()
	assert(ok, err)
	local admitted = flags & 2 == 0
	assert(#stubs.written == (admitted and 1 or 0),
		"not one response to a request")
	if admitted then
		check_response(stubs.written[1], stream, flags)
	end
end
