-- 001_init.sql: the tables of the db test, applied at the first start.
CREATE TABLE player (
	id INTEGER PRIMARY KEY,
	account TEXT NOT NULL,
	name TEXT UNIQUE,
	level INTEGER DEFAULT 1,
	gold INTEGER DEFAULT 0,
	speed REAL DEFAULT 1.0,
	data BLOB,
	online BOOLEAN
);
CREATE INDEX player_account ON player (account);
-- a key sqlite does not assign: the game names its rows
CREATE TABLE counter (
	id TEXT PRIMARY KEY,
	n INTEGER NOT NULL DEFAULT 0,
	note TEXT
);
CREATE TABLE journal (
	id INTEGER PRIMARY KEY,
	task INTEGER NOT NULL,
	seq INTEGER NOT NULL,
	body TEXT NOT NULL
);
CREATE TABLE payload (id TEXT PRIMARY KEY, body BLOB, note TEXT);
-- ordered pages (range): by an indexed column, ties, NULLs; a text key
CREATE TABLE score (id INTEGER PRIMARY KEY, name TEXT, points INTEGER);
CREATE INDEX score_points ON score (points);
CREATE TABLE tag (id TEXT PRIMARY KEY, rank REAL);
CREATE INDEX tag_rank ON tag (rank);
-- static: read-only to the game, reloaded on request
CREATE TABLE item (id INTEGER PRIMARY KEY, name TEXT NOT NULL,
	price INTEGER NOT NULL);
INSERT INTO item (id, name, price) VALUES (1, 'sword', 10), (2, 'shield', 20);
-- keys wisp.db cannot serve
CREATE TABLE pair (a INTEGER, b INTEGER, PRIMARY KEY (a, b));
CREATE TABLE loose (x INTEGER);
