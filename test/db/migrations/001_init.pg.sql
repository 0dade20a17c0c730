-- 001_init.pg.sql: 001_init.sql for PostgreSQL (the db service applies it
-- in that one's place): serial keys for sqlite's INTEGER PRIMARY KEY,
-- bytea for BLOB, double precision for REAL, and bytea for the text the
-- cases fill with NUL bytes, which PostgreSQL's text cannot hold.
CREATE TABLE player (
	id BIGSERIAL PRIMARY KEY,
	account TEXT NOT NULL,
	name TEXT UNIQUE,
	level INTEGER DEFAULT 1,
	gold BIGINT DEFAULT 0,
	speed DOUBLE PRECISION DEFAULT 1.0,
	data BYTEA,
	online BOOLEAN
);
CREATE INDEX player_account ON player (account);
CREATE TABLE counter (
	id BYTEA PRIMARY KEY,
	n BIGINT NOT NULL DEFAULT 0,
	note BYTEA
);
CREATE TABLE journal (
	id BIGSERIAL PRIMARY KEY,
	task INTEGER NOT NULL,
	seq INTEGER NOT NULL,
	body TEXT NOT NULL
);
CREATE TABLE payload (id TEXT PRIMARY KEY, body BYTEA, note BYTEA);
CREATE TABLE score (id BIGSERIAL PRIMARY KEY, name TEXT, points INTEGER);
CREATE INDEX score_points ON score (points);
CREATE TABLE tag (id TEXT PRIMARY KEY, rank DOUBLE PRECISION);
CREATE INDEX tag_rank ON tag (rank);
CREATE TABLE item (id INTEGER PRIMARY KEY, name TEXT NOT NULL,
	price INTEGER NOT NULL);
INSERT INTO item (id, name, price) VALUES (1, 'sword', 10), (2, 'shield', 20);
CREATE TABLE pair (a INTEGER, b INTEGER, PRIMARY KEY (a, b));
CREATE TABLE loose (x INTEGER);
