INSERT INTO orders (id, total, code, email, legacy) VALUES (100, 5, 'a', 'x@y', 3);
