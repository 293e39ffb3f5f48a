INSERT INTO accounts (name) VALUES ('old');
INSERT INTO orders (account_id) SELECT id FROM accounts WHERE name = 'old';
DELETE FROM accounts WHERE name = '1';
SELECT a.name, count(o.id) FROM accounts a JOIN orders o ON o.account_id = a.id GROUP BY a.name;
