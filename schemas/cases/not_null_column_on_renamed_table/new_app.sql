INSERT INTO accounts (email, name, status) VALUES ('new@x.y', 'New', 'trial');
SELECT id, status FROM accounts WHERE status IS NOT NULL;
