-- The leaderboard of db_range: 100,000 scores, many tied, on an index.
CREATE TABLE score (
	id INTEGER PRIMARY KEY,
	name TEXT NOT NULL,
	points INTEGER
);
CREATE INDEX score_points ON score (points);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100000)
INSERT INTO score (id, name, points) SELECT i, 'p' || i, (i * 7919) % 10007 FROM n;
