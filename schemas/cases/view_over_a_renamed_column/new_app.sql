INSERT INTO users (email, full_name) VALUES ('new@x.y', 'New');
SELECT id, full_name FROM users;
