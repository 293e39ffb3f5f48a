INSERT INTO users (email, name, age) VALUES ('old@x.y', 'Old', 30);
SELECT id, email, name, age FROM users;
