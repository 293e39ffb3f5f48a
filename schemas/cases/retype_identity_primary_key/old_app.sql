INSERT INTO authors (name) VALUES ('old');
INSERT INTO posts (author_id, body) SELECT max(id), 'by old' FROM authors;
DELETE FROM authors WHERE id = 1;
SELECT u.name, count(p.id) FROM authors u LEFT JOIN posts p ON p.author_id = u.id GROUP BY u.name;
