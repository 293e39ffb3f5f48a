INSERT INTO users (email, name) VALUES ('old@x.y', 'Old');
UPDATE users SET age = 40 WHERE email = 'old@x.y';
SELECT id, email, name, age FROM users;
