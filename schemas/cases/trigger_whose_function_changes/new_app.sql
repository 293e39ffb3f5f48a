INSERT INTO docs (id, body) VALUES (1000, 'a b'); UPDATE docs SET body = 'a b c' WHERE id = 1000;
