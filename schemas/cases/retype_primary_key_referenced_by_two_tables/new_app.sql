INSERT INTO accounts (id, name) VALUES (200, 'new');
INSERT INTO orders (id, account_id) VALUES (200, 200);
INSERT INTO invoices (id, account_id) VALUES (200, 200);
DELETE FROM accounts WHERE id = 2;
SELECT a.id, count(o.id) FROM accounts a LEFT JOIN orders o ON o.account_id = a.id GROUP BY a.id;
