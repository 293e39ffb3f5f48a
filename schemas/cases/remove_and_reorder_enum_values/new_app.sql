INSERT INTO posts (id, status, level) VALUES (102, 'archived', 'high'); INSERT INTO posts (id) VALUES (103); SELECT count(*) FROM posts WHERE status = 'archived' AND level > 'high';
