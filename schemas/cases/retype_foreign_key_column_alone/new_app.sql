INSERT INTO accounts (id) VALUES (600);
INSERT INTO orders (id, account_id) VALUES (200, 600);
SELECT count(*) FROM orders o JOIN accounts a ON a.id = o.account_id;
