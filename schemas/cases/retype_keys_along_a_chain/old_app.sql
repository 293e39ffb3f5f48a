INSERT INTO a (id) VALUES (10);
INSERT INTO b (id, a_id) VALUES (10, 10);
INSERT INTO c (id, b_id) VALUES (10, 10);
SELECT count(*) FROM c JOIN b ON b.id = c.b_id JOIN a ON a.id = b.a_id;
