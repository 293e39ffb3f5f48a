INSERT INTO a (id, b_id) VALUES (10, NULL);
INSERT INTO b (id, a_id) VALUES (10, 10);
UPDATE a SET b_id = 10 WHERE id = 10;
SELECT count(*) FROM a JOIN b ON b.id = a.b_id AND b.a_id = a.id;
