INSERT INTO users (email, name, last_seen_at) VALUES ('new@x.y', 'New', now());
SELECT last_seen_at FROM users;
