INSERT INTO stock (id, quantity) VALUES (1000, 1); UPDATE stock SET quantity = 2 WHERE id = 1000;
