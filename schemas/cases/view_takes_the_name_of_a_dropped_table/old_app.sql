INSERT INTO data (id, name) VALUES (1, 'old');
SELECT name FROM q;
