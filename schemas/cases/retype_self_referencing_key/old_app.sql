INSERT INTO nodes (id, parent_id, label) VALUES (10, 1, 'old child'), (11, 10, 'old grandchild');
DELETE FROM nodes WHERE id = 10;
SELECT count(*) FROM nodes WHERE parent_id = 1;
