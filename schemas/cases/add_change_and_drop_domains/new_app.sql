INSERT INTO orders (id, total, code, email, quantity) VALUES (101, 7, NULL, DEFAULT, 3); SELECT 1 FROM orders WHERE email = 'unknown@example.com' AND id = 101;
