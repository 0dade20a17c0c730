-- console/http.lua: the metrics endpoint's HTTP/1.1, as little as a
-- Prometheus scrape needs: one request per connection, its head read
-- with bounds on size (and on time: until the head is in, the
-- connection is one of the few waiting ones of console/admit.lua), GET
-- /metrics answered with the text format, and Connection: close. With a
-- token configured, the scrape must send "Authorization: Bearer TOKEN".
local wisp = require "wisp"
local socket = require "wisp.socket"
local auth = require "console.auth"
local lines = require "console.lines"

local format = string.format

local LINE_MAX = 8192
local HEADERS_MAX = 100

local http = {}

local reasons = { [200] = "OK", [400] = "Bad Request", [401] = "Unauthorized",
	[404] = "Not Found", [405] = "Method Not Allowed",
	[500] = "Internal Server Error" }

-- The request line's method and path, and the headers by lower-case
-- name; nil when the head is not one.
local function read_head(read)
	local first = read()
	local method, path = (first or ""):match("^(%u+) (%S+) HTTP/1%.%d$")
	if not method then
		return nil
	end
	local headers = {}
	for _ = 1, HEADERS_MAX do
		local line = read()
		if line == nil then
			return nil
		elseif line == "" then
			return method, path, headers
		end
		local name, value = line:match("^([^:%s]+):%s*(.-)%s*$")
		if not name then
			return nil
		end
		headers[name:lower()] = value
	end
	return nil
end

-- The status and body for a request.
local function respond(method, path, headers, render)
	if not method then
		return 400, "bad request\n"
	elseif method ~= "GET" and method ~= "HEAD" then
		return 405, "only GET\n"
	elseif path:match("^[^?]*") ~= "/metrics" then
		return 404, "not found: try /metrics\n"
	elseif auth.token() and not auth.same(headers.authorization,
			"Bearer " .. auth.token()) then
		return 401, "a bearer token is needed\n"
	end
	local ok, body = pcall(render)
	if not ok then
		wisp.log_error("console: metrics: " .. tostring(body))
		return 500, "metrics failed\n"
	end
	return 200, body
end

local function response(status, body, head_only)
	local extra = ""
	if status == 200 then
		extra = "Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
	elseif status == 401 then
		extra = "WWW-Authenticate: Bearer\r\nContent-Type: text/plain\r\n"
	elseif status == 405 then
		extra = "Allow: GET, HEAD\r\nContent-Type: text/plain\r\n"
	else
		extra = "Content-Type: text/plain\r\n"
	end
	return format("HTTP/1.1 %d %s\r\n%sContent-Length: %d\r\n"
		.. "Connection: close\r\n\r\n%s", status, reasons[status], extra,
		#body, head_only and "" or body)
end

-- Serves one request on the connection c (console/admit.lua), closed by
-- the caller; render() makes the metrics' text.
function http.serve(c, render)
	local method, path, headers = read_head(lines.reader(c.id, LINE_MAX))
	-- the head is in (or will never be): the request is complete
	if c.state == "closed" or not c:authenticated() then
		return
	end
	local status, body = respond(method, path, headers, render)
	socket.write(c.id, response(status, body, method == "HEAD"))
end

return http
