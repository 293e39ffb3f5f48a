INSERT INTO users (email, name, age) VALUES ('old@x.y', 'Old', 30);
UPDATE users SET name = 'Old 2' WHERE email = 'old@x.y';
SELECT id, email, name, age, created_at FROM users WHERE name = 'Old 2';
