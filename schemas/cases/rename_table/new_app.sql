INSERT INTO accounts (email, name) VALUES ('new@x.y', 'New');
UPDATE accounts SET age = 41 WHERE email = 'new@x.y';
SELECT id, email, name, age FROM accounts;
