INSERT INTO posts (id, title) VALUES (1001, 'new'); UPDATE posts SET title = 'y' WHERE id = 1001; SELECT n FROM counters;
