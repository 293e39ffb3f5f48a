INSERT INTO users (email) VALUES (repeat('n', 80) || '@x.y');
SELECT domain FROM domains;
