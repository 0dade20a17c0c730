-- 003_broken.sql: fails halfway, so the db node must not start; its
-- first statement must be rolled back with it.
CREATE TABLE half_done (x INTEGER);
INSERT INTO no_such_table (x) VALUES (1);
