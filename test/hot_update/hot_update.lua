-- hot_update.lua: the net node of test_hot_update.c. Its gate routes
-- command 1 to game and 9 to control. game.lua and game_util.lua, the
-- code the test rewrites and reloads, are in a temp directory of the
-- test's (WISP_HOT_DIR), searched first; control.lua is here. The test
-- picks the port: WISP_GATE_PORT.
local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "."
local port = assert(os.getenv("WISP_GATE_PORT"), "set WISP_GATE_PORT")
local dir = assert(os.getenv("WISP_HOT_DIR"), "set WISP_HOT_DIR")

return {
	cluster = "hot-update-test",
	lua_path = dir .. "/?.lua;" .. here .. "/?.lua",
	nodes = {
		main = {
			id = 1,
			roles = { "net" },
			services = { "lua game", "lua control" },
			gate = {
				listen = "127.0.0.1:" .. port,
				magic = "HOTU",
				version = 1,
				server_version = 1,
				max_body = 256,
				commands = { { 1, "game" }, { 9, "control" } },
			},
		},
	},
}
