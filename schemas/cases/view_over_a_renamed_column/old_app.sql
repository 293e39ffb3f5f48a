INSERT INTO users (email, name) VALUES ('old@x.y', 'Old');
SELECT id, name FROM directory;
