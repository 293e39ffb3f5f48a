INSERT INTO users (email, name, age) VALUES ('new@x.y', 'New', 42);
SELECT age FROM users WHERE age > 2;
