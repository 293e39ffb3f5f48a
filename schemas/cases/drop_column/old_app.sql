INSERT INTO users (email, name, age) VALUES ('old@x.y', 'Old', 30);
UPDATE users SET age = 31 WHERE email = 'old@x.y';
SELECT age FROM users;
