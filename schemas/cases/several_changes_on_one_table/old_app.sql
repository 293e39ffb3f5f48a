INSERT INTO users (email, name, age) VALUES ('old@x.y', 'Old', 30);
SELECT age, email FROM users;
