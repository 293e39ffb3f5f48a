INSERT INTO accounts (id) VALUES (500);
INSERT INTO orders (id, account_id) VALUES (100, 1);
SELECT count(*) FROM orders o JOIN accounts a ON a.id = o.account_id;
