INSERT INTO posts (id, title) VALUES (1000, 'old'); UPDATE posts SET title = 'x' WHERE id = 1000; DELETE FROM posts WHERE id = 1000;
