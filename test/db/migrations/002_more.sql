-- 002_more.sql: added by the driver between two starts of the db node.
ALTER TABLE player ADD COLUMN title TEXT;
UPDATE item SET price = 15 WHERE id = 1;
INSERT INTO item (id, name, price) VALUES (3, 'bow', 30);
