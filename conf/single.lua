-- single.lua: the embedded default: one process that holds every role,
-- with no harbor (nothing to link to) and the in-process defaults.
-- Clients connect to the gate at WISP_GATE_ADDR (127.0.0.1:7100 unless set).
-- Start it with: build/wisp conf/single.lua main
return {
	cluster = "single",
	log_level = "info",
	-- the db role's database; rows are cached in process (no memcached)
	db = {
		file = os.getenv("WISP_DB_FILE") or "wisp-single.db",
		migrations = nil, -- none yet
	},
	nodes = {
		main = {
			id = 1,
			roles = { "root", "node", "net", "db" },
			services = {
				{ "echo", os.getenv("WISP_ECHO_ADDR") or "127.0.0.1:9000" },
			},
			gate = {
				listen = os.getenv("WISP_GATE_ADDR") or "127.0.0.1:7100",
			},
		},
	},
}
