INSERT INTO accounts (name) VALUES ('new');
INSERT INTO orders (account_id, total) VALUES ((SELECT max(id) FROM accounts), 30);
DELETE FROM accounts WHERE id = 2;
SELECT a.id, count(*) FROM accounts a JOIN orders o ON o.account_id = a.id GROUP BY a.id;
