SELECT (home).street, (home).zip FROM people; INSERT INTO people (id, home.street) VALUES (100, 'old');
