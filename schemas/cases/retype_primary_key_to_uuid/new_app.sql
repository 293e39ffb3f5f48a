WITH a AS (INSERT INTO accounts (name) VALUES ('new') RETURNING id) INSERT INTO orders (account_id) SELECT id FROM a;
DELETE FROM accounts WHERE name = '2';
SELECT a.name, count(o.id) FROM accounts a JOIN orders o ON o.account_id = a.id GROUP BY a.name;
