INSERT INTO users (email, name) VALUES ('old@x.y', 'Old');
UPDATE users SET email = 'old2@x.y' WHERE email = 'old@x.y';
SELECT id, email FROM users;
