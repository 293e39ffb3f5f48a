INSERT INTO users (email, name) VALUES ('new@x.y', 'New');
SELECT name FROM users WHERE name IS NOT NULL;
