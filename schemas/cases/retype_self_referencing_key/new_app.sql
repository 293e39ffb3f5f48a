INSERT INTO nodes (id, parent_id, label) VALUES (20, 2, 'new child'), (21, 20, 'new grandchild');
DELETE FROM nodes WHERE id = 2;
SELECT count(*) FROM nodes;
