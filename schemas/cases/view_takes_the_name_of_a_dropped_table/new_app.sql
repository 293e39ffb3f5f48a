INSERT INTO stored_data (id, name) VALUES (2, 'new');
SELECT name FROM q;
