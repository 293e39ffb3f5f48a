INSERT INTO accounts (name) VALUES ('old');
INSERT INTO orders (account_id, total) VALUES (1, 10), ((SELECT max(id) FROM accounts), 20);
UPDATE orders SET account_id = 2 WHERE total = 10;
DELETE FROM accounts WHERE id = 3;
SELECT a.name, sum(o.total) FROM accounts a JOIN orders o ON o.account_id = a.id GROUP BY a.name;
