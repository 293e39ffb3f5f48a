INSERT INTO users (email) VALUES ('new@x.y');
SELECT id, email FROM everything;
