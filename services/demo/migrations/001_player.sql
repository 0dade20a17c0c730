-- 001_player.sql: the demo game's players, one row per account, made at
-- its first login (services/demo/agent.lua).
CREATE TABLE player (
	account TEXT PRIMARY KEY,
	name TEXT NOT NULL,
	room TEXT NOT NULL DEFAULT '',      -- the last room entered, '' for none
	x INTEGER NOT NULL DEFAULT 0,
	y INTEGER NOT NULL DEFAULT 0,
	logins INTEGER NOT NULL DEFAULT 0,
	created INTEGER NOT NULL            -- seconds since the epoch
);
