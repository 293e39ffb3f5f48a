INSERT INTO a (id) VALUES (20);
INSERT INTO b (id, a_id) VALUES (20, 20);
INSERT INTO c (id, b_id) VALUES (20, 20);
SELECT count(*) FROM c JOIN b ON b.id = c.b_id JOIN a ON a.id = b.a_id;
