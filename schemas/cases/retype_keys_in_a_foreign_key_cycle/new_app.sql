INSERT INTO a (id, b_id) VALUES (20, NULL);
INSERT INTO b (id, a_id) VALUES (20, 20);
UPDATE a SET b_id = 20 WHERE id = 20;
SELECT count(*) FROM a JOIN b ON b.id = a.b_id AND b.a_id = a.id;
