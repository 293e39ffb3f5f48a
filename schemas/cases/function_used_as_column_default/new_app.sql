INSERT INTO tickets (title) VALUES ('new') RETURNING code; SELECT id FROM tickets WHERE title_key(title) = 'new';
