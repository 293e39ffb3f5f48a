INSERT INTO orders (id, total, code, mood) VALUES (101, 7, 'x1010', 'happy'); SELECT count(*) FROM orders WHERE total > 1;
