INSERT INTO authors (name) VALUES ('new');
INSERT INTO posts (author_id, body) SELECT max(id), 'by new' FROM authors;
DELETE FROM authors WHERE id = 2;
SELECT u.id, count(p.id) FROM authors u LEFT JOIN posts p ON p.author_id = u.id GROUP BY u.id;
