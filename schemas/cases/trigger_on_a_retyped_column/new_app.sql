INSERT INTO stock (id, quantity) VALUES (1001, 1); UPDATE stock SET quantity = 3 WHERE id = 1001;
