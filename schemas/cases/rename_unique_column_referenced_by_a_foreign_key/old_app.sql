INSERT INTO people (id, handle) VALUES (10, 'old');
INSERT INTO posts (id, author_handle) VALUES (10, 'old');
UPDATE people SET handle = 'older' WHERE id = 10;
SELECT p.handle, count(*) FROM people p JOIN posts q ON q.author_handle = p.handle GROUP BY p.handle;
