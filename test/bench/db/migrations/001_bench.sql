-- The benchmarks' one table: a player-like row.
CREATE TABLE player (
	id INTEGER PRIMARY KEY,
	name TEXT NOT NULL,
	level INTEGER NOT NULL DEFAULT 1,
	gold INTEGER NOT NULL DEFAULT 0,
	data BLOB
);
