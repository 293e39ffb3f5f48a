INSERT INTO users (email, name, age_years) VALUES ('new@x.y', 'New', 42);
UPDATE users SET age_years = 43 WHERE email = 'new@x.y';
SELECT age_years FROM users;
