INSERT INTO people (id, username) VALUES (20, 'new');
INSERT INTO posts (id, author_handle) VALUES (20, 'new');
UPDATE people SET username = 'newer' WHERE id = 20;
SELECT p.username, count(*) FROM people p JOIN posts q ON q.author_handle = p.username GROUP BY p.username;
