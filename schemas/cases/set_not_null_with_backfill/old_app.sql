INSERT INTO users (email, age) VALUES ('old@x.y', 5);
SELECT email, name FROM users;
