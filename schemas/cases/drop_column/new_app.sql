INSERT INTO users (email, name) VALUES ('new@x.y', 'New');
SELECT id, email, name FROM users;
