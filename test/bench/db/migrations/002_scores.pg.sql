-- 002_scores.sql for PostgreSQL: the same 100,000 scores.
CREATE TABLE score (
	id BIGINT PRIMARY KEY,
	name TEXT NOT NULL,
	points INTEGER
);
CREATE INDEX score_points ON score (points);
INSERT INTO score (id, name, points)
	SELECT i, 'p' || i, (i * 7919) % 10007 FROM generate_series(1, 100000) AS i;
ANALYZE score;
