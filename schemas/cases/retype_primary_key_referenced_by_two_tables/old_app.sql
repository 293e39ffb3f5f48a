INSERT INTO accounts (id, name) VALUES (100, 'old');
INSERT INTO orders (id, account_id) VALUES (100, 100);
INSERT INTO invoices (id, account_id) VALUES (100, 100);
DELETE FROM accounts WHERE id = 1;
SELECT count(*) FROM invoices WHERE account_id IS NULL;
