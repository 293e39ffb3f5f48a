INSERT INTO users (email, name) VALUES ('new@x.y', 'New') RETURNING token;
SELECT token FROM users WHERE email = 'new@x.y';
