INSERT INTO users (email, full_name, age) VALUES ('new@x.y', 'New', 31);
UPDATE users SET full_name = 'New 2' WHERE email = 'new@x.y';
SELECT id, email, full_name FROM users WHERE full_name = 'New 2';
